import { connect, type AddressInfo, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { spawnServer, type SpawnedServer } from '../helpers/child-process.ts'
import { LogCapture, newUser, TEST_SIGNING_KEYS } from '../helpers/app.ts'

/**
 * Sign-ups hash a password with argon2, so each one takes a while: slow requests without a test-only route.
 * A burst of them stays within the bound of the hashing queue (64 waiting), past which sign-ups get a 503.
 */
const BURST = 40
// The service's own hashing cost, not the suite's cheap one: that is what keeps the burst in flight.
const SLOW_HASHING = { PASSWORD_HASH_MEMORY_KIB: '19456', PASSWORD_HASH_ITERATIONS: '2' }

function signUpBurst (url: string, count: number): Array<Promise<number>> {
  return Array.from({ length: count }, () => fetch(`${url}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(newUser())
  }).then((response) => response.status, () => 0))
}

function sleep (milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds))
}

/** Polls until check() holds; false if it still does not after a generous deadline. */
async function until (check: () => boolean, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) return false
    await sleep(5)
  }
  return true
}

t.test('SIGTERM during a burst of slow requests: every accepted request completes, then exit 0', async (t) => {
  const server = spawnServer(SLOW_HASHING)
  const url = await server.url
  const burst = signUpBurst(url, BURST)
  t.ok(await until(() => server.requestsStarted() === burst.length), 'the whole burst is in flight')
  server.signal('SIGTERM')
  const statuses = await Promise.all(burst)
  const { code, log } = await server.exited
  t.comment(`in flight at SIGTERM: ${burst.length}; completed with 201: ${statuses.filter((status) => status === 201).length}`)
  t.same(statuses, Array(burst.length).fill(201), 'all of them were answered 201')
  t.equal(code, 0)
  t.match(log, /"msg":"shutting down"/)
  t.match(log, /"msg":"shut down"/)
  await t.rejects(fetch(`${url}/health/live`), 'no new connections once closed')
})

t.test('a second signal while draining exits 1 at once', async (t) => {
  const server = spawnServer(SLOW_HASHING)
  const burst = signUpBurst(await server.url, BURST)
  t.ok(await until(() => server.requestsStarted() === burst.length), 'the whole burst is in flight')
  server.signal('SIGTERM')
  // Two signals sent at once may be delivered as one: the second goes once the first is handled.
  t.ok(await until(() => server.log().includes('"msg":"shutting down"')), 'draining')
  server.signal('SIGTERM')
  const { code, log } = await server.exited
  await Promise.all(burst)
  t.equal(code, 1)
  t.match(log, /second signal: exiting now/)
})

t.test('the grace deadline exits 1', async (t) => {
  const server = spawnServer({ ...SLOW_HASHING, SHUTDOWN_GRACE_MS: '1' })
  const burst = signUpBurst(await server.url, BURST)
  t.ok(await until(() => server.requestsStarted() === burst.length), 'the whole burst is in flight')
  server.signal('SIGINT')
  const { code, log } = await server.exited
  await Promise.all(burst)
  t.equal(code, 1)
  t.match(log, /shutdown grace period exceeded/)
})

/** A raw connection to port that sends what it is given and records what comes back. */
function rawClient (port: number, ...chunks: string[]): { socket: Socket, received: () => string, closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1', () => { for (const chunk of chunks) socket.write(chunk) })
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk.toString() })
  // A reset is as good as a close here: the server let go of the connection.
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return { socket, received: () => received, closed }
}

/** The exit, or after a deadline the process killed (code null) so that the test fails rather than hangs. */
async function exitWithin (server: SpawnedServer, timeoutMs: number): Promise<{ code: number | null, log: string }> {
  const deadline = setTimeout(() => server.signal('SIGKILL'), timeoutMs)
  try {
    return await server.exited
  } finally {
    clearTimeout(deadline)
  }
}

t.test('SIGTERM does not wait on clients that have not sent a whole request: the one in flight completes, then exit 0', async (t) => {
  // A grace period longer than the test's deadline: only closing those connections at once exits 0 in time.
  const server = spawnServer({ ...SLOW_HASHING, SHUTDOWN_GRACE_MS: '600000' })
  const url = await server.url
  const port = Number(new URL(url).port)
  const silent = rawClient(port)
  const partialHeaders = rawClient(port, 'GET /health/live HTTP/1.1\r\nHost: test\r\n')
  const partialBody = rawClient(port, 'POST /v1/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":"')
  const [signUp] = signUpBurst(url, 1)
  // Four connections; two requests begun: the sign-up, and the one whose body is stalled.
  t.ok(await until(() => server.connectionsAccepted() === 4 && server.requestsStarted() === 2), 'every connection accepted, both requests begun')
  server.signal('SIGTERM')
  const { code, log } = await exitWithin(server, 60_000)
  t.equal(code, 0, 'exit 0 without waiting out the grace period')
  t.notMatch(log, /shutdown grace period exceeded/)
  t.equal(await signUp, 201, 'the request in flight was answered')
  await Promise.all([silent.closed, partialHeaders.closed, partialBody.closed])
  t.equal(partialHeaders.received() + partialBody.received(), '', 'the incomplete requests were dropped unanswered')
})

/**
 * An app listening on a loopback port whose close stops, once it is draining, until
 * release(): a request made meanwhile arrives while the app drains, as one does that comes
 * in while another preClose hook runs, or one pipelined behind a request in flight.
 */
async function appHeldWhileClosing (t: Test): Promise<{ app: FastifyInstance, port: number, release: () => void }> {
  const config = loadConfig({ JWT_SIGNING_KEYS: TEST_SIGNING_KEYS, PGLITE_DATA_DIR: 'memory://', PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0', RATE_LIMIT_ENABLED: 'false' })
  const app = buildApp(config, { logStream: new LogCapture() })
  let release = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  // Registered after the app's own plugins: its preClose hook runs after the draining plugin's.
  app.register(fp(async (instance) => { instance.addHook('preClose', () => held) }))
  t.teardown(async () => {
    release()
    await app.close()
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, port: (app.server.address() as AddressInfo).port, release }
}

/** Starts closing the app, makes a request to path while it drains, and returns the raw response. */
async function requestWhileClosing (t: Test, path: string): Promise<string> {
  const { app, port, release } = await appHeldWhileClosing(t)
  const closed = app.close()
  t.ok(await until(() => app.draining), 'draining')
  const client = rawClient(port, `GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`)
  await client.closed
  release()
  await closed
  return client.received()
}

function problemIn (response: string): Record<string, unknown> {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>
}

t.test('while closing: readiness turns 503 at once', async (t) => {
  const ready = await requestWhileClosing(t, '/health/ready')
  t.match(ready, /^HTTP\/1\.1 503 /)
  t.match(ready, /\r\nretry-after: 5\r\n/i)
  t.match(ready, /\r\nconnection: close\r\n/i)
  t.match(problemIn(ready), { status: 503, detail: 'Not ready: draining.', checks: { draining: { status: 'unavailable' }, database: { status: 'ok' } } })
})

t.test('while closing: API requests get a 503 problem with Retry-After', async (t) => {
  const refused = await requestWhileClosing(t, '/v1/users/me')
  t.match(refused, /^HTTP\/1\.1 503 /)
  t.match(refused, /\r\nretry-after: 1\r\n/i)
  t.match(refused, /content-type: application\/problem\+json/i)
  t.match(problemIn(refused), { type: '/problems/service-unavailable', status: 503 })
})

t.test('while closing: liveness stays up', async (t) => {
  const live = await requestWhileClosing(t, '/health/live')
  t.match(live, /^HTTP\/1\.1 200 /)
  t.same(problemIn(live), { status: 'ok' })
})
