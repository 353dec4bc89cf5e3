import autocannon from 'autocannon'
import t, { type Test } from 'tap'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { Api, LogCapture, TEST_JWT_SECRET } from './helpers/app.js'

const memory = { url: undefined, pgliteDataDir: 'memory://', poolMax: 1 }

/** `startupStallMs`: a plugin that blocks the loop during start-up, as a slow boot does. */
async function appWith (t: Test, env: Record<string, string>, startupStallMs = 0) {
  const logs = new LogCapture()
  const config = loadConfig({ JWT_SECRET: TEST_JWT_SECRET, PRESSURE_MAX_EVENT_LOOP_UTILIZATION: '0', ...env })
  const app = buildApp({ ...config, database: memory }, { logStream: logs, loadShedding: { sampleIntervalMs: 20 } })
  app.register(async () => blockEventLoop(startupStallMs))
  t.teardown(() => app.close())
  await app.ready()
  return { app, api: new Api(t, app), logs }
}

function sleep (milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds))
}

/**
 * Polls until the app answers with `wanted` (or the deadline passes) and returns the last status:
 * shedding follows samples taken on a timer, which a busy CI machine delays, so fixed sleeps are flaky.
 */
async function statusBecomes (api: Api, wanted: number): Promise<number> {
  const deadline = Date.now() + 5000
  for (;;) {
    const { status } = await api.get('/v1/users/me')
    if (status === wanted || Date.now() > deadline) return status
    await sleep(20)
  }
}

function blockEventLoop (milliseconds: number): void {
  const until = Date.now() + milliseconds
  while (Date.now() < until) { /* the kind of stall that makes a process miss its deadlines */ }
}

/**
 * Keeps the loop lagging until stopped, yielding briefly between stalls so requests are still
 * taken in: a sustained overload, not one stall that a single sample may or may not see.
 */
function sustainLag (stallMs: number): () => void {
  let lagging = true
  const stall = (): void => {
    if (!lagging) return
    blockEventLoop(stallMs)
    setTimeout(stall, 1)
  }
  setTimeout(stall, 1)
  return () => { lagging = false }
}

t.test('a lagging event loop sheds load with a 503 problem, liveness still answers, and it recovers', async (t) => {
  const { api, logs } = await appWith(t, { PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '50' }, 300)
  t.equal((await api.get('/v1/users/me')).status, 401, 'served right after start, though start-up kept the loop busy')
  await sleep(1000)
  t.equal(await statusBecomes(api, 401), 401, 'served normally')

  const stopLag = sustainLag(150)
  t.teardown(stopLag)
  t.equal(await statusBecomes(api, 503), 503, 'shed while the loop lags')
  const shed = await api.get('/v1/users/me')
  t.equal(shed.status, 503)
  t.equal(shed.headers['retry-after'], '10')
  t.match(shed.body, { type: '/problems/service-unavailable', detail: 'The server is overloaded; retry shortly.' })
  t.equal((await api.get('/health/ready')).status, 503, 'readiness says so, so the balancer sends less')
  t.equal((await api.get('/health/live')).status, 200, 'liveness does not: a restart would not help')
  t.ok(logs.lines.some((line) => line.msg === 'shedding load'), 'shedding is logged')

  stopLag()
  t.equal(await statusBecomes(api, 401), 401, 'served again once the loop keeps time')
})

t.test('a heap over its limit sheds load', async (t) => {
  const { api } = await appWith(t, { PRESSURE_MAX_HEAP_USED_BYTES: '1' })
  await sleep(1050)
  t.equal((await api.get('/v1/users/me')).status, 503)
  t.equal((await api.get('/health/live')).status, 200)
})

t.test('with the defaults an idle process is not shedding', async (t) => {
  const { api } = await appWith(t, {})
  await sleep(50)
  t.equal((await api.get('/v1/users/me')).status, 401)
})

t.test('with the defaults a saturated process that still answers in time is not shedding', async (t) => {
  const config = loadConfig({ JWT_SECRET: TEST_JWT_SECRET, RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'warn' })
  const app = buildApp({ ...config, database: memory }, { logStream: new LogCapture() })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  // Bounded: 3 s of load on loopback, enough for the production sampler (1 s) to see a busy loop.
  const result = await autocannon({ url: `http://127.0.0.1:${port}/v1/users/me`, connections: 20, duration: 3 })
  t.ok(result.requests.total > 0, `${result.requests.total} requests answered`)
  t.same(Object.keys(result.statusCodeStats ?? {}), ['401'], 'every answer is the route\'s own 401, none a 503')
})
