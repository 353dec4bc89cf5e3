import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect, type AddressInfo, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { typescriptEntry } from './helpers/child-process.js'
import { buildTestApp, newUser } from './helpers/app.js'

interface Spawned {
  url: Promise<string>
  exited: Promise<{ code: number | null, log: string }>
  signal (name: NodeJS.Signals): void
  /** What it has written so far. */
  log (): string
  /** Requests whose head it has read: in flight from then on. */
  requestsStarted (): number
}

/**
 * Loaded into the server before its entry point: a line on stderr (synchronous on a pipe) for
 * every request the server has begun, so a test waits for its requests to be in flight
 * instead of sleeping for long enough.
 */
const REQUEST_STARTED = 'test: request started'
const ANNOUNCE_REQUESTS = 'data:text/javascript,' + encodeURIComponent(
  `import { subscribe } from 'node:diagnostics_channel'; subscribe('http.server.request.start', () => process.stderr.write('${REQUEST_STARTED}\\n'))`)

function spawnServer (env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, ['--import', ANNOUNCE_REQUESTS, ...typescriptEntry('src/server.ts')], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', PGLITE_DATA_DIR: 'memory://', RATE_LIMIT_ENABLED: 'false', PRESSURE_MAX_EVENT_LOOP_UTILIZATION: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let log = ''
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log)
      if (match !== null) resolve(match[1]!)
    })
    child.once('exit', () => reject(new Error('exited before listening')))
  })
  child.stderr.on('data', (chunk: Buffer) => { log += chunk.toString() })
  return {
    url,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve({ code, log }))),
    signal: (name) => child.kill(name),
    log: () => log,
    requestsStarted: () => log.split(REQUEST_STARTED).length - 1
  }
}

/** Sign-ups hash a password with argon2, so each one takes a while: slow requests without a test-only route. */
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
  const server = spawnServer()
  const url = await server.url
  const burst = signUpBurst(url, 40)
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
  const server = spawnServer()
  const burst = signUpBurst(await server.url, 40)
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
  const server = spawnServer({ SHUTDOWN_GRACE_MS: '1' })
  const burst = signUpBurst(await server.url, 40)
  t.ok(await until(() => server.requestsStarted() === burst.length), 'the whole burst is in flight')
  server.signal('SIGINT')
  const { code, log } = await server.exited
  await Promise.all(burst)
  t.equal(code, 1)
  t.match(log, /shutdown grace period exceeded/)
})

/**
 * Starts a request on a raw connection (headers not finished, so the connection is
 * busy, not idle, and survives close()), starts closing the app, then finishes the
 * request: it arrives while the app is draining. Returns the raw response.
 */
async function requestWhileClosing (app: FastifyInstance, path: string): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  // Waiting for the server's side of the connection, not a fixed time: on a busy machine
  // the accept can come after close() has stopped listening, and the connect is reset.
  const accepted = once(app.server, 'connection') as Promise<[Socket]>
  const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1')
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk.toString() })
  const ended = new Promise((resolve) => socket.once('close', resolve))
  const [serverSide] = await accepted
  const head = `GET ${path} HTTP/1.1\r\nHost: test\r\n`
  socket.write(head)
  // The server must have read (and so parsed) the start of the request, or close() reaps the
  // connection as idle: waited for, not slept for.
  while (serverSide.bytesRead < Buffer.byteLength(head)) await sleep(1)
  const closed = app.close()
  while (!app.draining) await sleep(5)
  socket.write('\r\n')
  await ended
  await closed
  return received
}

function problemIn (response: string): Record<string, unknown> {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>
}

t.test('while closing: readiness turns 503 at once', async (t) => {
  const { app } = await buildTestApp(t, { url: undefined, pgliteDataDir: 'memory://', poolMax: 1 })
  const ready = await requestWhileClosing(app, '/health/ready')
  t.match(ready, /^HTTP\/1\.1 503 /)
  t.match(ready, /\r\nretry-after: 5\r\n/i)
  t.match(ready, /\r\nconnection: close\r\n/i)
  t.match(problemIn(ready), { status: 503, detail: 'Not ready: draining.', checks: { draining: { status: 'unavailable' }, database: { status: 'ok' } } })
})

t.test('while closing: API requests get a 503 problem with Retry-After', async (t) => {
  const { app } = await buildTestApp(t, { url: undefined, pgliteDataDir: 'memory://', poolMax: 1 })
  const refused = await requestWhileClosing(app, '/v1/users/me')
  t.match(refused, /^HTTP\/1\.1 503 /)
  t.match(refused, /\r\nretry-after: 1\r\n/i)
  t.match(refused, /content-type: application\/problem\+json/i)
  t.match(problemIn(refused), { type: '/problems/service-unavailable', status: 503 })
})

t.test('while closing: liveness stays up', async (t) => {
  const { app } = await buildTestApp(t, { url: undefined, pgliteDataDir: 'memory://', poolMax: 1 })
  const live = await requestWhileClosing(app, '/health/live')
  t.match(live, /^HTTP\/1\.1 200 /)
  t.same(problemIn(live), { status: 'ok' })
})
