/**
 * What the change events cost and how fast webhooks go out, on PostgreSQL on loopback
 * (a throw-away cluster), in this process:
 * - the outbox: writes/s of a user update in a transaction, with and without recording
 *   its event (the advisory lock, the insert, the NOTIFY), at 1 and 32 concurrent
 *   writers, interleaved rounds; the same SQL the service runs, without HTTP around it;
 * - webhook throughput: events recorded in bulk, then the time until a local receiver
 *   has acknowledged every one, through the service's fan-out and delivery worker.
 * Figures are measured, never asserted.
 *   npm run bench:outbox -- [--seconds 5] [--rounds 3] [--events 5000]
 */
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { eq, sql } from 'drizzle-orm'
import { uuidv7 } from 'uuidv7'
import { users } from '../src/db/schema.ts'
import { commitWithEvents, SYSTEM_CHANGE, type Change } from '../src/events/outbox.ts'
import { startPostgres } from '../test/services/postgres.ts'
import { startInProcess } from './lib/app.ts'
import { medianOf } from './lib/load.ts'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, events: { type: 'string', default: '5000' } } })
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)
const eventCount = Number(values.events)

const postgres = await startPostgres()
const receiver = { acknowledged: 0 }
const server = createServer((request, response) => {
  request.resume()
  request.on('end', () => {
    receiver.acknowledged += 1
    response.writeHead(204).end()
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const receiverUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`

// First without receivers (the outbox alone), then with one (the fan-out and the sends running too).
const common = { DATABASE_URL: postgres.url, DATABASE_POOL_MAX: '40', LOG_LEVEL: 'warn' }
let running = await startInProcess(common)

try {
  const { app } = running
  const ids = Array.from({ length: 64 }, () => uuidv7())
  await app.db.insert(users).values(ids.map((id, index) => ({ id, email: `outbox${index}@bench.example`, name: 'Outbox', passwordHash: 'x' })))

  async function write (id: string, withEvent: boolean): Promise<void> {
    await commitWithEvents(app.db, SYSTEM_CHANGE, async (tx) => {
      const [updated] = await tx.update(users).set({ name: `Outbox ${Math.random()}`, version: sql`${users.version} + 1`, updatedAt: sql`now()` }).where(eq(users.id, id)).returning()
      return { result: undefined, changes: withEvent ? [{ type: 'user.updated', subject: id, data: { name: updated!.name, changed: ['name'] } }] : [] }
    })
  }

  async function writesPerSecond (writers: number, withEvent: boolean): Promise<number> {
    const deadline = performance.now() + seconds * 1000
    let done = 0
    await Promise.all(Array.from({ length: writers }, async (_, writer) => {
      while (performance.now() < deadline) {
        await write(ids[writer]!, withEvent)
        done += 1
      }
    }))
    return done / seconds
  }

  console.log(`\n### The outbox: user updates per second, with and without their event (${rounds} interleaved rounds of ${seconds} s, median)\n`)
  console.log('| writers | without events | with events | ratio |')
  console.log('|---|---|---|---|')
  for (const writers of [1, 32]) {
    const without: number[] = []
    const withEvents: number[] = []
    for (let round = 0; round < rounds; round += 1) {
      without.push(await writesPerSecond(writers, false))
      withEvents.push(await writesPerSecond(writers, true))
    }
    console.log(`| ${writers} | ${medianOf(without).toFixed(0)} | ${medianOf(withEvents).toFixed(0)} | ${(medianOf(withEvents) / medianOf(without)).toFixed(2)} |`)
  }

  await running.close()
  running = await startInProcess({ ...common, WEBHOOK_URLS: receiverUrl, WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}` })
  const withWebhooks = running.app
  const before = receiver.acknowledged
  const started = performance.now()
  for (let offset = 0; offset < eventCount; offset += 500) {
    const batch: Change[] = Array.from({ length: Math.min(500, eventCount - offset) }, (_, index) => ({ type: 'user.updated', subject: ids[(offset + index) % ids.length]!, data: { changed: ['name'] } }))
    await commitWithEvents(withWebhooks.db, SYSTEM_CHANGE, async () => ({ result: undefined, changes: batch }))
  }
  const allAcknowledged = () => receiver.acknowledged - before >= eventCount || performance.now() - started > 300_000
  while (!allAcknowledged()) await new Promise((resolve) => setTimeout(resolve, 20))
  const elapsed = (performance.now() - started) / 1000
  console.log(`\n### Webhook delivery: ${receiver.acknowledged - before} of ${eventCount} events (64 users) acknowledged by a local receiver in ${elapsed.toFixed(1)} s: ${((receiver.acknowledged - before) / elapsed).toFixed(0)} events/s\n`)
} finally {
  await running.close()
  server.close()
  await postgres.destroy()
}
