import { connect, type AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config.ts'
import { buildTestApp } from '../helpers/app.ts'
import { memoryDatabase } from '../helpers/databases.ts'

/**
 * Node looks for requests past their timeouts only every `connectionsCheckingInterval`
 * (30 s unless told otherwise), so with a one-second timeout an unfixed server still cuts a
 * stalled client only after up to 30 s. This deadline is generous for a timely cut, and
 * short of that.
 */
const DEADLINE_MS = 15_000

interface Outcome {
  /** False when the server still held the connection open at the deadline. */
  cut: boolean
  received: string
}

/** Connects, sends what it is given, then nothing: what the server does about it by the deadline. */
function stallingClient (port: number, sent: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { if (sent !== '') socket.write(sent) })
    let received = ''
    socket.on('data', (chunk: Buffer) => { received += chunk.toString() })
    // A reset is as good as a close: the server let go of the connection.
    socket.on('error', () => {})
    const deadline = setTimeout(() => {
      socket.destroy()
      resolve({ cut: false, received })
    }, DEADLINE_MS)
    socket.once('close', () => {
      clearTimeout(deadline)
      resolve({ cut: true, received })
    })
  })
}

async function listeningApp (t: Test, env: Record<string, string>): Promise<number> {
  const { app } = await buildTestApp(t, await memoryDatabase(), env)
  await app.listen({ host: '127.0.0.1', port: 0 })
  return (app.server.address() as AddressInfo).port
}

const STALLED = {
  'a connection that sends nothing': '',
  'headers that never complete': 'GET /health/live HTTP/1.1\r\nHost: test\r\nX-Slow: ',
  'a body that stalls after its headers': 'POST /v1/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":"'
}

t.test('a client that stalls is cut off in time, with a 408 if anything', async (t) => {
  const port = await listeningApp(t, { REQUEST_TIMEOUT_MS: '1000' })
  const outcomes = await Promise.all(Object.values(STALLED).map((sent) => stallingClient(port, sent)))
  for (const [index, name] of Object.keys(STALLED).entries()) {
    const { cut, received } = outcomes[index]!
    t.ok(cut, `${name}: the server closed the connection before the deadline`)
    if (received !== '') t.match(received, /^HTTP\/1\.1 408 /, `${name}: what it said was a 408`)
  }
})

t.test('headers have their own timeout, shorter than the whole request\'s', async (t) => {
  // A body has all of REQUEST_TIMEOUT_MS, so only the headers timeout can cut this one in time.
  const port = await listeningApp(t, { REQUEST_TIMEOUT_MS: '600000', HEADERS_TIMEOUT_MS: '1000' })
  const { cut, received } = await stallingClient(port, STALLED['headers that never complete'])
  t.ok(cut, 'the server closed the connection before the deadline')
  t.match(received, /^HTTP\/1\.1 408 /)
})

t.test('HEADERS_TIMEOUT_MS: 10 s unless the request timeout is shorter, never longer than it', async (t) => {
  t.equal(loadConfig({}).headersTimeoutMs, 10_000)
  t.equal(loadConfig({ REQUEST_TIMEOUT_MS: '4000' }).headersTimeoutMs, 4000)
  t.equal(loadConfig({ REQUEST_TIMEOUT_MS: '0' }).headersTimeoutMs, 10_000, 'still bounded with the request timeout off')
  t.equal(loadConfig({ HEADERS_TIMEOUT_MS: '2000' }).headersTimeoutMs, 2000)
  t.throws(() => loadConfig({ HEADERS_TIMEOUT_MS: '40000' }), /^HEADERS_TIMEOUT_MS must be at most REQUEST_TIMEOUT_MS/)
  t.equal(loadConfig({ HEADERS_TIMEOUT_MS: '40000', REQUEST_TIMEOUT_MS: '0' }).headersTimeoutMs, 40_000)
})
