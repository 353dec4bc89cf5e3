import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { typescriptEntry } from '../helpers/child-process.ts'
import { TEST_DATA_KEYS } from '../helpers/app.ts'

interface RunningServer {
  child: ChildProcess
  baseUrl: string
  exited: Promise<{ code: number | null, stderr: string, stdout: string }>
}

function startServer (env: Record<string, string>): RunningServer & { listening: Promise<string> } {
  const child = spawn(process.execPath, typescriptEntry('src/server.ts'), {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)
      if (match !== null) resolve(match[1]!)
    })
    child.once('exit', () => reject(new Error(`server exited before listening: ${stderr}`)))
  })
  const exited = new Promise<{ code: number | null, stderr: string, stdout: string }>((resolve) => {
    child.once('close', (code) => resolve({ code, stderr, stdout }))
  })
  return { child, baseUrl: '', exited, listening }
}

t.test('a bad configuration value stops the process with one line naming it', async (t) => {
  // Each value's message is config.test's; this proves the process's answer to one (a spawn costs seconds).
  for (const [variable, value] of [['PORT', 'abc']] as const) {
    const { exited, listening } = startServer({ [variable]: value })
    listening.catch(() => {})
    const { code, stderr, stdout } = await exited
    t.equal(code, 1, `${variable}: exit code 1`)
    const lines = stderr.split('\n').filter((line) => line !== '' && !line.includes('ExperimentalWarning'))
    t.equal(lines.length, 1, `${variable}: one line`)
    t.match(lines[0], new RegExp(`^users-service: invalid configuration: ${variable} `))
    t.notMatch(stderr + stdout, /\n\s+at /, 'no stack trace')
  }
})

t.test('production refuses to start without proper JWT_SIGNING_KEYS', async (t) => {
  const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://users.example.com', DATA_ENCRYPTION_KEYS: TEST_DATA_KEYS, PGLITE_DATA_DIR: 'memory://' }
  // Missing keys fail loading the configuration; keys that do not parse fail while the app starts (config.test has every message).
  const environments: Array<Record<string, string>> = [
    { NODE_ENV: 'production', PUBLIC_URL: 'https://users.example.com' },
    { ...production, JWT_SIGNING_KEYS: '{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"a"}]}' }
  ]
  for (const env of environments) {
    const { exited, listening } = startServer(env)
    listening.catch(() => {})
    const { code, stderr } = await exited
    t.equal(code, 1)
    t.match(stderr, /^users-service: invalid configuration: JWT_SIGNING_KEYS (is required in production|key 0 is not an Ed25519)/)
    t.notMatch(stderr, /c2VjcmV0/, 'never a key\'s material')
    t.equal(stderr.trim().split('\n').length, 1, 'one line')
  }
})

t.test('serves, shuts down cleanly on SIGTERM, and keeps its data across a restart', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'users-service-data-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))

  const first = startServer({ PGLITE_DATA_DIR: dataDir })
  const baseUrl = await first.listening
  const created = await fetch(`${baseUrl}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'durable@example.com', name: 'Durable', password: 'stays put please' })
  })
  t.equal(created.status, 201)
  const user = await created.json() as { id: string }
  first.child.kill('SIGTERM')
  const { code, stdout } = await first.exited
  t.equal(code, 0, 'exit 0 on SIGTERM')
  t.match(stdout, /shutting down/)

  const second = startServer({ PGLITE_DATA_DIR: dataDir })
  const secondUrl = await second.listening
  const login = await fetch(`${secondUrl}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'durable@example.com', password: 'stays put please' })
  })
  t.equal(login.status, 200, 'the stored password hash still verifies')
  const { access_token: token } = await login.json() as { access_token: string }
  const read = await fetch(`${secondUrl}/v1/users/${user.id}`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(read.status, 200)
  t.match(await read.json(), { id: user.id, email: 'durable@example.com' })
  second.child.kill('SIGINT')
  t.equal((await second.exited).code, 0, 'exit 0 on SIGINT')
})
