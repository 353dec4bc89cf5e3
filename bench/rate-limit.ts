/**
 * The cost of the rate limiter: one cheap route (an anonymous GET /v1/users/me, a 401
 * that touches no database) served with limiting off, counted in process, and counted
 * in Redis, one after the other in this process tree.
 * The variants take turns for several rounds and the median round is reported, because
 * on a small machine one round is at the mercy of whatever else runs.
 *   npm run bench:rate-limit -- [--connections 50] [--duration 5] [--rounds 3]
 */
import { parseArgs } from 'node:util'
import { startRedis } from '../test/services/redis.ts'
import { type LoadResult, measure, median } from './lib/load.ts'
import { startServer } from './lib/servers.ts'
import { prependNewKey } from '../src/identity/signing-keys.ts'

const { values } = parseArgs({ options: { connections: { type: 'string', default: '50' }, duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' } } })
const load = { connections: Number(values.connections), durationSeconds: Number(values.duration), warmupSeconds: 2 }

const redis = await startRedis()
const common = { PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '1000000000', JWT_SIGNING_KEYS: JSON.stringify(await prependNewKey(undefined)) }
const variants: Array<[string, Record<string, string>]> = [
  ['limiter off', { RATE_LIMIT_ENABLED: 'false' }],
  ['in-process store', {}],
  ['Redis store', { REDIS_URL: redis.url }]
]

const rounds = new Map<string, LoadResult[]>(variants.map(([name]) => [name, []]))
try {
  for (let round = 0; round < Number(values.rounds); round += 1) {
    for (const [name, env] of variants) {
      const server = await startServer({ name, entry: 'dist/src/server.js', env: { ...common, ...env } })
      try {
        rounds.get(name)!.push(await measure(`${server.url}/v1/users/me`, load))
      } finally {
        await server.stop()
      }
    }
  }
} finally {
  await redis.destroy()
}
const rows = [...rounds].map(([name, results]) => ({ name, ...median(results) }))

const baseline = rows[0]!.requestsPerSecond
console.log(`\nGET /v1/users/me (anonymous 401), ${load.connections} connections, ${load.durationSeconds} s each\n`)
console.log('| limiter | req/s | ratio to off | p50 ms | p99 ms | errors | statuses |')
console.log('|---|---|---|---|---|---|---|')
for (const row of rows) {
  console.log(`| ${row.name} | ${row.requestsPerSecond.toFixed(0)} | ${(row.requestsPerSecond / baseline).toFixed(2)} | ${row.p50} | ${row.p99} | ${row.errors} | ${JSON.stringify(row.statuses)} |`)
}
// A figure measured on other answers than the route's own (503s from shedding, 429s) says nothing about the limiter.
const unexpected = rows.filter((row) => Object.keys(row.statuses).some((status) => status !== '401') || row.errors > 0)
if (unexpected.length > 0) {
  console.error(`\nnot comparable: ${unexpected.map((row) => row.name).join(', ')} answered other than 401 or had errors`)
  process.exitCode = 1
}
