/**
 * `npm run bench`: users-service against the ceiling (bare node:http + the same patched
 * postgres.js) and a peer (Express 5 as a competent team ships it), same machine, same
 * PostgreSQL, same data, one process tree; then the v2 scenarios on users-service alone
 * (refresh rotation, writes with the outbox on and off, every listing sort at page 1 and
 * deep, the q search, webhook delivery), sign-ups beside reads, cold start and a soak.
 * Prints the tables with ratios and the targets, writes bench/results/latest.{md,json}, and
 * draws the contenders' ratios into docs/performance-ratios.svg. Figures are measured, never asserted.
 *   npm run bench -- [--users 1000000] [--connections 50] [--duration 10] [--warmup 2] [--soak 120] [--events 20000]
 *   npm run bench -- --ledger [--rounds 3]     the cost of each cross-cutting concern (bench/ledger.ts)
 *   npm run bench -- --chart                   draws the chart again from bench/results/latest.json
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { encodeCursor } from '../src/http/cursor.ts'
import { startPostgres } from '../test/services/postgres.ts'
import { type ChartRow, ratioChart } from './chart.ts'
import { runLedger } from './ledger.ts'
import { type LoadOptions, type LoadResult, measure, median, rotated } from './lib/load.ts'
import { type RunningServer, type ServerSpec, startServer } from './lib/servers.ts'
import { renderReport } from './report.ts'
import { benchCredentials } from './lib/tokens.ts'
import { listingCases } from './scenarios/listing.ts'
import { clientCredentialsGrant, introspection, keyClientGrant } from './scenarios/client-credentials.ts'
import { enrolAuthenticators, measureLogins, seededPeople } from './scenarios/logins.ts'
import { refreshRotation } from './scenarios/refresh.ts'
import { webhookThroughput } from './scenarios/webhooks.ts'
import { renames, signUps } from './scenarios/writes.ts'
import { createdAtOf, seedUsers } from './seed.ts'
import { transfer } from './scenarios/transfer.ts'
import { prependNewDataKey } from '../src/secrets/key-ring.ts'

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    soak: { type: 'string', default: '120' },
    events: { type: 'string', default: '20000' },
    ledger: { type: 'boolean', default: false },
    chart: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' }
  }
})
const load: LoadOptions = { connections: Number(values.connections), durationSeconds: Number(values.duration), warmupSeconds: Number(values.warmup) }
interface Row { scenario: string, server: string, result: LoadResult }
const SOAK_WARMUP_SECONDS = 30
const LISTING_ROUNDS = 3
const CONTENDER_ROUNDS = 3
// Two MFA logins each before the next time step: enough for ten seconds of them.
const LOGIN_PEOPLE = 500
const LOGIN_CONCURRENCY = 10

async function withServer<T> (spec: ServerSpec, use: (server: RunningServer) => Promise<T>): Promise<T> {
  const server = await startServer(spec)
  try {
    return await use(server)
  } finally {
    await server.stop()
  }
}

const CHART = 'docs/performance-ratios.svg'
function drawChart (rows: readonly ChartRow[], machine: string, date: string): void {
  writeFileSync(CHART, ratioChart(rows, `npm run bench, ${date.slice(0, 10)} · ${machine} · each bar a median of three rounds`))
  process.stderr.write(`chart: ${CHART}\n`)
}
if (values.chart) {
  const latest = JSON.parse(readFileSync('bench/results/latest.json', 'utf8')) as { rows: ChartRow[], machine: string, date?: string }
  drawChart(latest.rows, latest.machine, latest.date ?? 'undated')
  process.exit(0)
}

const postgresServer = await startPostgres()
const scratch = mkdtempSync(join(tmpdir(), 'users-bench-'))
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}`
mkdirSync('bench/results', { recursive: true })

try {
  const seeded = await seedUsers(postgresServer.url, Number(values.users))
  const credentials = await benchCredentials(postgresServer.url, seeded.adminId)
  const common = { DATABASE_URL: postgresServer.url, DATABASE_POOL_MAX: '10', JWT_SIGNING_KEYS: credentials.signingKeys, JWT_PUBLIC_JWKS: credentials.publicJwks, DATA_ENCRYPTION_KEYS: JSON.stringify(prependNewDataKey(undefined)), LOG_LEVEL: 'info', RATE_LIMIT_MAX: '1000000000' }
  // As shipped: production mode, auth, rate limiting (limits above the load), tracing, metrics, request log at info to a file.
  const shipped = { ...common, NODE_ENV: 'production', PUBLIC_URL: 'http://127.0.0.1', AUTH_RATE_LIMIT_MAX: '1000000000' }
  const auth = { authorization: `Bearer ${credentials.token}` }
  const hotId = seeded.userIds[Math.floor(seeded.userIds.length / 2)]!
  const hotPath = `/v1/users/${hotId}`
  const serviceLog = join(scratch, 'users-service.log')
  const service: ServerSpec = { name: 'users-service', entry: 'dist/src/server.js', env: shipped, logFile: serviceLog }
  // The same service from source, less what BENCH_WITHOUT names (bench/servers/users-service.ts).
  const serviceWithout = (without: string, env: Record<string, string> = {}): ServerSpec =>
    ({ name: `users-service without ${without || 'nothing'}`, entry: 'bench/servers/users-service.ts', nodeArgs: ['--import', 'tsx'], env: { ...shipped, ...env, BENCH_WITHOUT: without }, logFile: serviceLog })
  const header = `Machine: ${machine}; PostgreSQL 15 on loopback with ${seeded.userIds.length} users; autocannon ${load.connections} connections (writes 10), ${load.durationSeconds} s after ${load.warmupSeconds} s warm-up.`

  if (values.ledger) {
    const report = `# users-service cost ledger — ${new Date().toISOString()}\n\n${header} Hot path: authenticated GET /v1/users/{id}.\n\n${await runLedger({ env: shipped, path: hotPath, load: { ...load, headers: auth }, rounds: Number(values.rounds), logFile: serviceLog })}\n`
    console.log(`\n${report}`)
    writeFileSync('bench/results/ledger.md', report)
  } else {
    // Measures a scenario on a running server into a table.
    const recorder = (table: Row[]) => async (scenario: string, server: RunningServer, path: string, options: LoadOptions): Promise<void> => {
      process.stderr.write(`${server.name}: ${scenario}\n`)
      table.push({ scenario, server: server.name, result: await measure(server.url + path, options, server) })
    }

    // 1. Against the ceiling and the peer. Each server's own cursor to the page after the same user: ours is keyed by the default sort.
    // The contenders take turns, each round started by another, and a row is a contender's
    // median round: one pass each, one after the other, compares the machine's moods as much as the servers.
    const deepUser = await createdAtOf(postgresServer.url, seeded.userIds[Math.floor(seeded.userIds.length * 0.9)]!)
    const contenders: Array<[ServerSpec, string]> = [
      [service, encodeCursor({ sort: 'created_at', filters: {} }, { key: deepUser.createdAt, id: deepUser.id })],
      [{ name: 'ceiling', entry: 'bench/servers/ceiling.ts', nodeArgs: ['--import', 'tsx'], env: common }, deepUser.id],
      [{ name: 'express', entry: 'bench/servers/express-peer.ts', nodeArgs: ['--import', 'tsx'], env: { ...common, NODE_ENV: 'production' }, logFile: join(scratch, 'express.log') }, deepUser.id]
    ]
    const scenarios = (cursor: string): Array<[string, string, LoadOptions]> => [
      ['GET /v1/users/{id}', hotPath, { ...load, headers: auth }],
      ['GET /v1/users page 1', '/v1/users?limit=20', { ...load, headers: auth }],
      ['GET /v1/users deep page', `/v1/users?limit=20&cursor=${cursor}`, { ...load, headers: auth }],
      ['GET /health/ready', '/health/ready', load],
      ['POST /v1/users', '/v1/users', signUps({ ...load, connections: 10 })]
    ]
    const contenderRounds = new Map<string, LoadResult[]>()
    for (let round = 0; round < CONTENDER_ROUNDS; round += 1) {
      for (const [spec, cursor] of rotated(contenders, round)) {
        await withServer(spec, async (server) => {
          for (const [scenario, path, options] of scenarios(cursor)) {
            process.stderr.write(`${server.name}: ${scenario} (round ${round + 1}/${CONTENDER_ROUNDS})\n`)
            const key = `${server.name}: ${scenario}`
            contenderRounds.set(key, [...contenderRounds.get(key) ?? [], await measure(server.url + path, options, server)])
          }
        })
      }
    }
    const rows: Row[] = contenders.flatMap(([spec, cursor]) => scenarios(cursor).map(([scenario]) =>
      ({ scenario, server: spec.name, result: median(contenderRounds.get(`${spec.name}: ${scenario}`)!) })))

    // 2. v2 scenarios, users-service alone.
    const v2: Row[] = []
    const recordV2 = recorder(v2)
    const writers = { ...load, connections: 10 }
    const renamed = seeded.userIds.slice(0, 1000)
    await withServer(service, async (server) => {
      await recordV2('POST /v1/auth/token refresh rotation', server, '/v1/auth/token', await refreshRotation(postgresServer.url, seeded.userIds, load))
      // Machine clients: getting a token, and the hot path with one beside a person's, in the same process.
      await recordV2('POST /v1/auth/token client_credentials', server, '/v1/auth/token', clientCredentialsGrant(credentials.client, load))
      // More fresh assertions than the grant can use up at 2,500 a second.
      const assertions = await credentials.keyClient.assertions(2500 * (load.durationSeconds + load.warmupSeconds))
      await recordV2('POST /v1/auth/token client_credentials private_key_jwt', server, '/v1/auth/token', keyClientGrant(assertions, load))
      await recordV2('POST /v1/auth/introspect', server, '/v1/auth/introspect', introspection(credentials.introspector, credentials.token, load))
      await recordV2('GET /v1/users/{id} person token', server, hotPath, { ...load, headers: auth })
      await recordV2('GET /v1/users/{id} client token', server, hotPath, { ...load, headers: { authorization: `Bearer ${credentials.client.token}` } })
      // SCIM as a provider uses it: the lookup before every provisioning step, and a walk by cursor
      // (a page of 20 deep in the table; each page also counts every user, as totalResults must).
      const scim = { ...load, headers: { authorization: `Bearer ${credentials.scimToken}` } }
      await recordV2('GET /scim/v2/Users userName eq', server, `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${deepUser.email}"`)}`, scim)
      await recordV2('GET /scim/v2/Users cursor page', server, `/scim/v2/Users?count=20&cursor=${encodeCursor({ sort: 'scim', filters: { filter: undefined } }, { key: '', id: deepUser.id })}`, scim)
      await recordV2('GET /v1/users page 1 (beside SCIM)', server, '/v1/users?limit=20', { ...load, headers: auth })
      // Page 1 and the deep page of a sort are compared with each other, and one run of each,
      // one after the other, is at the mercy of what else the machine does meanwhile: each
      // case runs in every round, the order reversed every other round, and its median round counts.
      const cases = await listingCases(postgresServer.url, seeded.userIds.length)
      const rounds = new Map<string, LoadResult[]>(cases.map(({ name }) => [name, []]))
      for (let round = 0; round < LISTING_ROUNDS; round += 1) {
        for (const { name, path } of round % 2 === 0 ? cases : [...cases].reverse()) {
          process.stderr.write(`${server.name}: ${name} (round ${round + 1}/${LISTING_ROUNDS})\n`)
          rounds.get(name)!.push(await measure(server.url + path, { ...load, headers: auth }, server))
        }
      }
      for (const { name } of cases) v2.push({ scenario: name, server: server.name, result: median(rounds.get(name)!) })
    })
    // Logins: the password step alone, and the password step then a TOTP code, by other
    // people each (a TOTP code is good once per time step), ten at a time.
    const logins = await withServer(service, async (server) => {
      const withPassword = await seededPeople(postgresServer.url, LOGIN_PEOPLE, 2000)
      process.stderr.write(`users-service: ${LOGIN_PEOPLE} people enrol an authenticator app\n`)
      const withTotp = await enrolAuthenticators(server, await seededPeople(postgresServer.url, LOGIN_PEOPLE, 2000 + LOGIN_PEOPLE))
      await measureLogins(server, withPassword, load.warmupSeconds, LOGIN_CONCURRENCY)
      process.stderr.write(`${server.name}: password logins\n`)
      const password = await measureLogins(server, withPassword, load.durationSeconds, LOGIN_CONCURRENCY)
      process.stderr.write(`${server.name}: password + TOTP logins\n`)
      const mfa = await measureLogins(server, withTotp, load.durationSeconds, LOGIN_CONCURRENCY)
      return { password, mfa }
    })
    // The outbox on and off, interleaved, same entry: the difference is the events alone.
    for (let round = 0; round < 2; round += 1) {
      for (const without of ['', 'events']) {
        await withServer(serviceWithout(without), async (server) => {
          const label = without === '' ? 'events on' : 'events off'
          await recordV2(`PATCH /v1/users/{id} ${label} (round ${round + 1})`, server, '/v1/users/{id}', renames(renamed, credentials.token, writers))
          await recordV2(`POST /v1/users ${label} (round ${round + 1})`, server, '/v1/users', signUps(writers))
        })
      }
    }
    process.stderr.write('users-service: webhook delivery\n')
    const webhooks = await webhookThroughput(postgresServer.url, Number(values.events), (env) => startServer({ ...service, env: { ...shipped, ...env } }))
    // Moving users in and out: 100,000 imported, then every user exported.
    const transferred = await withServer(service, (server) => transfer(server, credentials.token, 100_000))

    // 3. Sign-ups must not stall reads: the same read load alone, then beside a sign-up load.
    const stall = await withServer(service, async (server) => {
      const reads: LoadOptions = { ...load, connections: 10, headers: auth }
      const alone = await measure(server.url + hotPath, reads)
      const [during] = await Promise.all([
        measure(server.url + hotPath, reads),
        measure(`${server.url}/v1/users`, signUps({ ...load, connections: 10, warmupSeconds: 0, durationSeconds: load.durationSeconds + load.warmupSeconds }))
      ])
      return { alone, during }
    })

    // 4. Cold start to ready: a fresh process until /health/ready answers (median of three).
    async function coldStart (env: Record<string, string>): Promise<number> {
      const times: number[] = []
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const server = await startServer({ ...service, env: { ...shipped, ...env } })
        times.push(server.startupMs)
        await server.stop()
      }
      return times.sort((a, b) => a - b)[1]!
    }
    const coldPostgres = await coldStart({})
    const coldPglite = await coldStart({ DATABASE_URL: '', PGLITE_DATA_DIR: join(scratch, 'pglite') })

    // 5. Soak: the hot path for --soak seconds. RSS saw-tooths with garbage collection (one
    // sample can land on a peak or a trough), so each half is the mean of one sample a second.
    // A fresh process grows for its first 20–30 s under load (heap sizing, JIT code, caches
    // filling to their bounds): that ramp, not a leak, is left out by a warm-up first.
    const soakSeconds = Number(values.soak)
    const soak = await withServer(service, async (server) => {
      await measure(server.url + hotPath, { ...load, warmupSeconds: 0, durationSeconds: SOAK_WARMUP_SECONDS, headers: auth })
      const samples: number[] = []
      const sampler = setInterval(() => samples.push(server.rss()), 1000)
      const result = await measure(server.url + hotPath, { ...load, warmupSeconds: 0, durationSeconds: soakSeconds, headers: auth })
      clearInterval(sampler)
      const mean = (list: number[]): number => list.reduce((sum, value) => sum + value, 0) / Math.max(list.length, 1)
      const middle = Math.floor(samples.length / 2)
      return { result, half: mean(samples.slice(0, middle)), end: mean(samples.slice(middle)), peak: Math.max(...samples) }
    })

    const figures = { header, rows, v2, logins, webhooks, transfer: transferred, stall, coldPostgres, coldPglite, soak, soakSeconds, soakWarmupSeconds: SOAK_WARMUP_SECONDS, users: seeded.userIds.length }
    // The figures first: a long run is not lost to a fault in the report.
    const date = new Date().toISOString()
    writeFileSync('bench/results/latest.json', `${JSON.stringify({ date, machine, load, ...figures }, null, 2)}\n`)
    const report = renderReport(figures)
    console.log(`\n${report}`)
    writeFileSync('bench/results/latest.md', `${report}\n`)
    drawChart(rows, machine, date)
  }
} finally {
  await postgresServer.destroy()
  rmSync(scratch, { recursive: true, force: true })
}
