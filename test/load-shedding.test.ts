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

/** The status once shedding stops; a busy CI machine can delay the next sample, hence polling rather than a fixed wait. */
async function statusOnceSettled (api: Api): Promise<number> {
  const deadline = Date.now() + 5000
  for (;;) {
    const { status } = await api.get('/v1/users/me')
    if (status !== 503 || Date.now() > deadline) return status
    await sleep(20)
  }
}

function blockEventLoop (milliseconds: number): void {
  const until = Date.now() + milliseconds
  while (Date.now() < until) { /* the kind of stall that makes a process miss its deadlines */ }
}

t.test('a lagging event loop sheds load with a 503 problem, liveness still answers, and it recovers', async (t) => {
  const { api, logs } = await appWith(t, { PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '50' }, 300)
  t.equal((await api.get('/v1/users/me')).status, 401, 'served right after start, though start-up kept the loop busy')
  await sleep(1000)
  t.equal(await statusOnceSettled(api), 401, 'served normally')

  blockEventLoop(300)
  await sleep(30)
  const shed = await api.get('/v1/users/me')
  t.equal(shed.status, 503)
  t.equal(shed.headers['retry-after'], '10')
  t.match(shed.body, { type: '/problems/service-unavailable', detail: 'The server is overloaded; retry shortly.' })
  t.equal((await api.get('/health/ready')).status, 503, 'readiness says so, so the balancer sends less')
  t.equal((await api.get('/health/live')).status, 200, 'liveness does not: a restart would not help')
  t.ok(logs.lines.some((line) => line.msg === 'shedding load'), 'shedding is logged')

  t.equal(await statusOnceSettled(api), 401, 'served again once the loop keeps time')
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
