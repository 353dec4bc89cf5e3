/**
 * The cost ledger (`npm run bench -- --ledger`): the hot path as shipped, then with each
 * cross-cutting concern turned off in turn, every variant in its own process, in
 * interleaved rounds so drift and noise show in the spread. A concern's cost is the CPU
 * time per request it adds (server process user + system time over responses), which,
 * unlike req/s, does not depend on what else the machine runs; a negative cost is a
 * saving (the caches). The last row is the floor: Fastify and drizzle serving the same
 * statement with nothing of the service, so its cost is all the service adds to them.
 */
import { type LoadOptions, type LoadResult, measure, medianOf, rotated } from './lib/load.ts'
import { startServer } from './lib/servers.ts'

interface Variant {
  concern: string
  /** What turns it off: configuration, or BENCH_WITHOUT for what no configuration turns off. */
  env: Record<string, string>
  /** Another server instead of the service (the floor). */
  entry?: string
}

const VARIANTS: Variant[] = [
  { concern: 'as shipped', env: {} },
  { concern: 'request log (LOG_LEVEL=warn)', env: { LOG_LEVEL: 'warn' } },
  { concern: 'metrics (METRICS_ENABLED=false)', env: { METRICS_ENABLED: 'false' } },
  { concern: 'rate limit (RATE_LIMIT_ENABLED=false)', env: { RATE_LIMIT_ENABLED: 'false' } },
  { concern: 'load shedding (PRESSURE_MAX_EVENT_LOOP_DELAY_MS=0)', env: { PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0' } },
  { concern: 'security headers', env: { BENCH_WITHOUT: 'security-headers' } },
  { concern: 'tracing headers (X-Request-ID, Server-Timing)', env: { BENCH_WITHOUT: 'tracing-headers' } },
  { concern: 'token verification cache', env: { BENCH_WITHOUT: 'token-cache' } },
  { concern: 'session/role cache (PRINCIPAL_CACHE_TTL_MS=0)', env: { PRINCIPAL_CACHE_TTL_MS: '0' } },
  {
    concern: 'all of the above but the caches',
    env: { LOG_LEVEL: 'warn', METRICS_ENABLED: 'false', RATE_LIMIT_ENABLED: 'false', PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0', BENCH_WITHOUT: 'security-headers,tracing-headers' }
  },
  { concern: 'everything of the service: Fastify + drizzle alone (bench/servers/fastify-floor.ts)', env: {}, entry: 'bench/servers/fastify-floor.ts' }
]

export interface LedgerOptions {
  /** The service's environment as shipped. */
  env: Record<string, string>
  /** The hot path's URL path, e.g. /v1/users/<id>. */
  path: string
  load: LoadOptions
  rounds: number
  logFile: string
}

/** Runs the ledger and resolves to its report, in Markdown. */
export async function runLedger ({ env, path, load, rounds, logFile }: LedgerOptions): Promise<string> {
  const results = new Map<string, LoadResult[]>(VARIANTS.map(({ concern }) => [concern, []]))
  for (let round = 0; round < rounds; round += 1) {
    // Each round starts at another variant, so none always runs first or last.
    for (const variant of rotated(VARIANTS, round)) {
      process.stderr.write(`ledger round ${round + 1}/${rounds}: ${variant.concern}\n`)
      const server = await startServer({ name: variant.concern, entry: variant.entry ?? 'bench/servers/users-service.ts', nodeArgs: ['--import', 'tsx'], env: { ...env, ...variant.env }, logFile })
      try {
        const result = await measure(server.url + path, load, server)
        if (result.errors > 0 || result.non2xx > 0) throw new Error(`${variant.concern}: ${result.errors} errors, ${result.non2xx} non-2xx responses`)
        results.get(variant.concern)!.push(result)
      } finally {
        await server.stop()
      }
    }
  }
  const shipped = results.get('as shipped')!
  const shippedCpu = medianOf(shipped.map((result) => result.cpuMicrosPerRequest))
  const lines = [
    `| turned off | req/s | CPU µs/request (median; range over ${rounds} rounds) | cost, µs/request | share of the shipped CPU |`,
    '|---|---|---|---|---|'
  ]
  for (const { concern } of VARIANTS) {
    const measured = results.get(concern)!
    const cpu = measured.map((result) => result.cpuMicrosPerRequest)
    const row = `| ${concern === 'as shipped' ? '(nothing: as shipped)' : concern} | ${medianOf(measured.map((result) => result.requestsPerSecond)).toFixed(0)} | ${medianOf(cpu).toFixed(0)} (${Math.min(...cpu).toFixed(0)}–${Math.max(...cpu).toFixed(0)})`
    const cost = shippedCpu - medianOf(cpu)
    lines.push(concern === 'as shipped' ? `${row} | | |` : `${row} | ${cost.toFixed(0)} | ${((100 * cost) / shippedCpu).toFixed(1)} % |`)
  }
  return lines.join('\n')
}
