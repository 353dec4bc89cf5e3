/**
 * What the service's supervision of each statement costs (src/db/connect.ts: the
 * client-side deadline and the observers, src/db/supervised-query.ts): client CPU per
 * statement of the same prepared select through the service's connection and through a
 * bare drizzle + postgres.js client, on a throw-away PostgreSQL on loopback, in this
 * process, both with --inflight statements in flight. Paired rounds, each pair run in
 * alternating order; the difference of a pair is measured, its median printed. Figures
 * are measured, never asserted.
 *   npm run bench:statements -- [--rounds 16] [--ms 700] [--inflight 50]
 */
import { parseArgs } from 'node:util'
import { eq, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import { uuidv7 } from 'uuidv7'
import { connectDatabase, type Database } from '../src/db/connect.ts'
import { users } from '../src/db/schema.ts'
import { publicColumns } from '../src/users/users.ts'
import { startPostgres } from '../test/services/postgres.ts'
import { medianOf } from './lib/load.ts'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '16' }, ms: { type: 'string', default: '700' }, inflight: { type: 'string', default: '50' } } })
const rounds = Number(values.rounds)
const roundMs = Number(values.ms)
const inflight = Number(values.inflight)

const server = await startPostgres()
const supervised = await connectDatabase({ url: server.url, pgliteDataDir: '', poolMax: 10 })
const bareClient = postgres(server.url, { max: 10, onnotice: () => {} })
try {
  await supervised.migrate()
  const id = uuidv7()
  await supervised.db.insert(users).values({ id, email: 'statements@bench.example', name: 'Statements', passwordHash: 'x' })
  const byId = (db: Database) => db.select(publicColumns).from(users).where(eq(users.id, sql.placeholder('id'))).prepare('find_user_by_id')
  const clients = { supervised: byId(supervised.db), bare: byId(drizzle({ client: bareClient }) as unknown as Database) }

  /** Client CPU µs per statement while `inflight` loops each await one statement at a time. */
  async function cpuPerStatement (statement: (typeof clients)['bare'], ms: number): Promise<number> {
    const started = process.cpuUsage()
    const deadline = performance.now() + ms
    let done = 0
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (performance.now() < deadline) {
        await statement.execute({ id })
        done += 1
      }
    }))
    const used = process.cpuUsage(started)
    return (used.user + used.system) / done
  }

  await cpuPerStatement(clients.supervised, 1000)
  await cpuPerStatement(clients.bare, 1000)
  const measured = { supervised: [] as number[], bare: [] as number[] }
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? (['supervised', 'bare'] as const) : (['bare', 'supervised'] as const)
    for (const name of order) measured[name].push(await cpuPerStatement(clients[name], roundMs))
  }
  const differences = measured.supervised.map((cpu, round) => cpu - measured.bare[round]!)
  console.log(`\n### Client CPU per statement, ${inflight} in flight (${rounds} paired rounds of ${roundMs} ms, median)\n`)
  console.log('| supervised (the service) | bare drizzle + postgres.js | supervision, µs/statement (median of pairs; range) |')
  console.log('|---|---|---|')
  console.log(`| ${medianOf(measured.supervised).toFixed(1)} | ${medianOf(measured.bare).toFixed(1)} | ${medianOf(differences).toFixed(1)} (${Math.min(...differences).toFixed(1)} to ${Math.max(...differences).toFixed(1)}) |`)
} finally {
  await bareClient.end({ timeout: 1 })
  await supervised.close()
  await server.destroy()
}
