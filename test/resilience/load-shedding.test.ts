import autocannon from 'autocannon'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { Api, LogCapture, TEST_SIGNING_KEYS } from '../helpers/app.ts'

const memory = { url: undefined, pgliteDataDir: 'memory://', poolMax: 1 }

/** `startupStallMs`: a plugin that blocks the loop during start-up, as a slow boot does. */
async function appWith (t: Test, env: Record<string, string>, startupStallMs = 0) {
  const logs = new LogCapture()
  const config = loadConfig({ JWT_SIGNING_KEYS: TEST_SIGNING_KEYS, PRESSURE_MAX_EVENT_LOOP_UTILIZATION: '0', ...env })
  const app = buildApp({ ...config, database: memory }, { logStream: logs, loadShedding: { sampleIntervalMs: 20 } })
  app.register(async () => blockEventLoop(startupStallMs))
  t.teardown(() => app.close())
  await app.ready()
  return { app, api: new Api(t, app), logs }
}

function sleep (milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds))
}

/** How long to wait for something the sampler does: generous, as a busy CI machine delays timers. */
const DEADLINE_MS = 10_000

/**
 * Polls until the app answers with `wanted` (or the deadline passes) and returns the last status:
 * shedding follows samples taken on a timer, which a busy CI machine delays, so fixed sleeps are flaky.
 */
async function statusBecomes (api: Api, wanted: number): Promise<number> {
  const deadline = Date.now() + DEADLINE_MS
  for (;;) {
    const { status } = await api.get('/v1/users/me')
    if (status === wanted || Date.now() > deadline) return status
    await sleep(20)
  }
}

/**
 * Polls until the sampler has taken `count` more samples (or the deadline passes) and returns how
 * many it saw. Evidence, not a sleep: every sample replaces what `app.memoryUsage()` reports (the
 * cumulative event-loop utilisation and the heap move between any two), so a change is a sample.
 */
async function samplesTaken (app: FastifyInstance, count: number): Promise<number> {
  const deadline = Date.now() + DEADLINE_MS
  let last = JSON.stringify(app.memoryUsage())
  let seen = 0
  while (seen < count && Date.now() <= deadline) {
    await sleep(2)
    const current = JSON.stringify(app.memoryUsage())
    if (current !== last) seen += 1
    last = current
  }
  return seen
}

/**
 * Whether the start-up grace (nothing is shed during it) is over for every app made ready before
 * the call: a control app made ready now, whose one limit always sheds, sheds. Polled: no fixed
 * sleep has to outlast the grace.
 */
async function startupGraceOver (t: Test): Promise<boolean> {
  const control = await appWith(t, { PRESSURE_MAX_HEAP_USED_BYTES: '1', PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0' })
  const shedding = await statusBecomes(control.api, 503) === 503
  await control.app.close()
  return shedding
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
  t.ok(await startupGraceOver(t), 'the start-up grace is over')
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
  // The event-loop check off: with 20 ms samples it now and then reads a sample with no loop
  // measurement in it as pressure, a 503 that would pass this test for the wrong reason.
  const { api, logs } = await appWith(t, { PRESSURE_MAX_HEAP_USED_BYTES: '1', PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0' })
  t.equal(await statusBecomes(api, 503), 503, 'shed once sampled, after the start-up grace')
  t.ok(logs.lines.some((line) => line.msg === 'shedding load' && (line.pressure as { type?: string } | undefined)?.type === 'heapUsedBytes'), 'because of the heap')
  t.equal((await api.get('/health/live')).status, 200)
})

t.test('with the defaults an idle process is not shedding', async (t) => {
  const { app, api } = await appWith(t, {})
  // Nothing is shed during the start-up grace: the check below means something only after it.
  t.ok(await startupGraceOver(t), 'the start-up grace is over')
  t.equal(await samplesTaken(app, 5), 5, 'the idle app has been sampled since')
  // Polled, not asserted on one request: with 20 ms samples the event-loop check now and then
  // reads one sample as pressure (a window in which the loop was not measured, or a stall of
  // the test process). A limit an idle process exceeds is exceeded at every sample, and fails this.
  t.equal(await statusBecomes(api, 401), 401, 'the route\'s own answer, not a 503')
})

t.test('with the defaults a saturated process that still answers in time is not shedding', async (t) => {
  const config = loadConfig({ JWT_SIGNING_KEYS: TEST_SIGNING_KEYS, RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'warn' })
  const app = buildApp({ ...config, database: memory }, { logStream: new LogCapture() })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  // Bounded: 3 s of load on loopback, enough for the production sampler (1 s) to see a busy loop.
  const result = await autocannon({ url: `http://127.0.0.1:${port}/v1/users/me`, connections: 20, duration: 3 })
  t.ok(result.requests.total > 0, `${result.requests.total} requests answered`)
  t.same(Object.keys(result.statusCodeStats ?? {}), ['401'], 'every answer is the route\'s own 401, none a 503')
})
