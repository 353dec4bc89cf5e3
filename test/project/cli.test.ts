import { spawn } from 'node:child_process'
import { eq } from 'drizzle-orm'
import t from 'tap'
import { events } from '../../src/db/schema.ts'
import { typescriptEntry } from '../helpers/child-process.ts'
import { buildTestApp } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'
import { parseKeyRing } from '../../src/secrets/key-ring.ts'

const pglite = testDatabases.find((database) => database.name === 'pglite')!

function cli (entry: string, args: string[], stdin: string, env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, typescriptEntry(entry, ...args), { env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.stdin.end(stdin)
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}

const createUserCli = (args: string[], stdin: string, env: Record<string, string>) => cli('src/cli/create-user.ts', args, stdin, env)

t.test('user:create makes an admin whose password comes from stdin', async (t) => {
  const settings = await pglite.create(t, { persistent: true })
  const env = { PGLITE_DATA_DIR: settings.pgliteDataDir }

  const created = await createUserCli(['--email', 'Ops@Example.com', '--admin'], 'piped password 1\n', env)
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /^created admin ops@example\.com \([0-9a-f-]{36}\)\n$/)
  t.notMatch(created.stdout + created.stderr, /piped password/)

  const again = await createUserCli(['--email', 'ops@example.com'], 'another password\n', env)
  t.equal(again.code, 1)
  t.equal(again.stderr, 'user:create: A user with this email already exists.\n')

  t.equal((await createUserCli(['--email', 'short@example.com'], 'short\n', env)).code, 1, 'too short a password')
  t.equal((await createUserCli([], 'long enough pw\n', env)).code, 1, 'no email')

  const { api } = await buildTestApp(t, settings)
  const admin = await api.loginAs('ops@example.com', 'piped password 1')
  t.equal((await admin.get('/v1/users/me')).body.role, 'admin')
})

t.test('db:migrate applies the migrations and exits', async (t) => {
  const settings = await pglite.create(t, { persistent: true, empty: true })
  const child = spawn(process.execPath, typescriptEntry('src/cli/migrate.ts'), { env: { ...process.env, PGLITE_DATA_DIR: settings.pgliteDataDir } })
  let stdout = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  const code = await new Promise((resolve) => child.on('close', resolve))
  t.equal(code, 0)
  t.equal(stdout, 'migrations applied (pglite)\n')
  const { admin } = await buildTestApp(t, settings)
  t.equal((await admin.get('/v1/users')).status, 200, 'the migrated database serves the app')
})

t.test('client:create registers a machine client and prints its secret once', async (t) => {
  const settings = await pglite.create(t, { persistent: true })
  const env = { PGLITE_DATA_DIR: settings.pgliteDataDir }
  const created = await cli('src/cli/create-client.ts', ['--name', 'bootstrap', '--scope', 'users:read', '--scope', 'events:read'], '', env)
  t.equal(created.code, 0, created.stderr)
  const [, id, secret] = /client_id=(\S+)\nclient_secret=(\S+)\n$/.exec(created.stdout) ?? []
  t.match(created.stdout, /^created client bootstrap \([0-9a-f-]{36}\) with scopes users:read events:read\n/)
  t.match(secret, /^[A-Za-z0-9_-]{43}$/)

  // The domain's refusals reach the operator as one line (each run opens the database: one case is enough here).
  t.equal((await cli('src/cli/create-client.ts', ['--name', 'bootstrap'], '', env)).stderr, 'client:create: A client with this name already exists.\n')
  t.equal((await cli('src/cli/create-client.ts', [], '', env)).code, 1, 'no name')

  const { api, app } = await buildTestApp(t, settings)
  const token = await api.post('/v1/auth/token', 'grant_type=client_credentials', { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id!}:${secret!}`).toString('base64')}` })
  t.equal(token.status, 200, 'the printed secret gets a token')
  t.equal((await api.withToken(token.body.access_token).get('/v1/events')).status, 200)
  const [event] = await app.db.select().from(events).where(eq(events.subject, id!))
  t.match(event, { type: 'users.client.created', actor: 'system', actorType: 'system' })
  t.notOk(JSON.stringify(event).includes(secret!), 'the event does not carry the secret')
})

t.test('keys:generate makes a data key ring, and rotates one from stdin', async (t) => {
  const keys = (args: string[], stdin = '') => cli('src/cli/keys-generate.ts', args, stdin, {})
  const ring = await keys(['--data'])
  t.equal(ring.code, 0, ring.stderr)
  const sealed = parseKeyRing(ring.stdout.trim()).seal('a TOTP seed', 'test')
  const rotated = await keys(['--data', '--rotate'], ring.stdout)
  const rotatedRing = JSON.parse(rotated.stdout) as { keys: Array<{ kid: string }> }
  t.equal(rotatedRing.keys.length, 2, 'a new key in front')
  t.equal(rotatedRing.keys[1]!.kid, (JSON.parse(ring.stdout) as { keys: Array<{ kid: string }> }).keys[0]!.kid, 'the old key stays')
  t.equal(parseKeyRing(rotated.stdout.trim()).open(sealed, 'test'), 'a TOTP seed', 'what the old key sealed still opens')
  const refused = await keys(['--data', '--rotate'], 'not a ring')
  t.equal(refused.code, 1)
  t.equal(refused.stderr, 'keys:generate: the current set is not JSON\n')
})
