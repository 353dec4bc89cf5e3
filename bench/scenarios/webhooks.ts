import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { uuidv7 } from 'uuidv7'
import { connectDatabase } from '../../src/db/connect.ts'
import { commitWithEvents, SYSTEM_CHANGE, type Change } from '../../src/events/outbox.ts'

export interface WebhookThroughput {
  events: number
  subjects: number
  seconds: number
  perSecond: number
}

const BATCH = 500
const SUBJECTS = 64

/**
 * Webhook delivery to a local receiver (node:http, answering 204 to everything): `events`
 * events about 64 users are recorded in transactions of 500, as fast as the database
 * takes them, and the clock runs until the receiver has acknowledged every one; the
 * service, started by `start` with the receiver's URL and a secret in its environment,
 * fans them out and sends them. A webhook is acknowledged once per event id (retries
 * would not count twice).
 */
export async function webhookThroughput (databaseUrl: string, events: number, start: (env: Record<string, string>) => Promise<{ stop (): Promise<void> }>): Promise<WebhookThroughput> {
  const acknowledged = new Set<string>()
  const receiver = createServer((request, response) => {
    const id = request.headers['webhook-id']
    request.resume()
    request.on('end', () => {
      if (typeof id === 'string') acknowledged.add(id)
      response.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`
  const server = await start({ WEBHOOK_URLS: url, WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}` })
  const connection = await connectDatabase({ url: databaseUrl, pgliteDataDir: 'memory://', poolMax: 2 })
  try {
    const subjects = Array.from({ length: SUBJECTS }, () => uuidv7())
    const started = performance.now()
    for (let offset = 0; offset < events; offset += BATCH) {
      const batch: Change[] = Array.from({ length: Math.min(BATCH, events - offset) }, (_, index) => ({ type: 'user.updated', subject: subjects[(offset + index) % SUBJECTS]!, data: { changed: ['name'] } }))
      await commitWithEvents(connection.db, SYSTEM_CHANGE, async () => ({ result: undefined, changes: batch }))
    }
    const deadline = started + 300_000
    while (acknowledged.size < events && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    const seconds = (performance.now() - started) / 1000
    return { events: acknowledged.size, subjects: SUBJECTS, seconds, perSecond: acknowledged.size / seconds }
  } finally {
    await connection.close()
    await server.stop()
    receiver.close()
  }
}
