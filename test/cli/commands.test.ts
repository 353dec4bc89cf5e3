import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { eq } from 'drizzle-orm'
import t from 'tap'
import { events } from '../../src/db/schema.ts'
import { runCommand, type Command } from '../../src/cli/command.ts'
import { createClientCommand } from '../../src/cli/create-client.ts'
import { createUserCommand } from '../../src/cli/create-user.ts'
import { importUsersCommand } from '../../src/cli/import-users.ts'
import { keysGenerateCommand } from '../../src/cli/keys-generate.ts'
import { migrateCommand } from '../../src/cli/migrate.ts'
import { parseKeyRing } from '../../src/secrets/key-ring.ts'
import { typescriptEntry } from '../helpers/child-process.ts'
import { buildTestApp } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'

const pglite = testDatabases.find((database) => database.name === 'pglite')!

interface Ran { code: number | null, stdout: string, stderr: string }

function collected (): { stream: PassThrough, text: () => string } {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', (chunk: Buffer) => { text += chunk.toString() })
  return { stream, text: () => text }
}

/** A command run in this process (a spawned one costs seconds under coverage), with streams of its own. */
async function run (name: string, command: Command, args: string[], stdin: string, env: Record<string, string> = {}): Promise<Ran> {
  const stdout = collected()
  const stderr = collected()
  const code = await runCommand(name, command, { args, env: { ...process.env, ...env }, stdin: Readable.from([stdin]), stdout: stdout.stream, stderr: stderr.stream })
  return { code, stdout: stdout.text(), stderr: stderr.text() }
}

t.test('a command run as `node dist/src/cli/….js` takes the process\'s arguments, stdin and exit code', async (t) => {
  const settings = await pglite.create(t, { persistent: true })
  const child = spawn(process.execPath, typescriptEntry('src/cli/create-user.ts', '--email', 'spawned@example.com'), { env: { ...process.env, PGLITE_DATA_DIR: settings.pgliteDataDir } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.stdin.end('short\n')
  const code = await new Promise((resolve) => child.on('close', resolve))
  t.equal(code, 1, 'a refusal exits 1')
  t.equal(stderr, 'user:create: the password must be 8–128 characters\n', 'as one line')
  t.equal(stdout, '')
})

t.test('user:create makes an admin whose password comes from stdin', async (t) => {
  const settings = await pglite.create(t, { persistent: true })
  const env = { PGLITE_DATA_DIR: settings.pgliteDataDir }
  const createUser = (args: string[], stdin: string) => run('user:create', createUserCommand, args, stdin, env)

  const created = await createUser(['--email', 'Ops@Example.com', '--admin'], 'piped password 1\n')
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /^created admin ops@example\.com \([0-9a-f-]{36}\)\n$/)
  t.notMatch(created.stdout + created.stderr, /piped password/)

  const again = await createUser(['--email', 'ops@example.com'], 'another password\n')
  t.equal(again.code, 1)
  t.equal(again.stderr, 'user:create: A user with this email already exists.\n')

  t.equal((await createUser(['--email', 'short@example.com'], 'short\n')).code, 1, 'too short a password')
  t.equal((await createUser([], 'long enough pw\n')).stderr, 'user:create: --email is required\n', 'no email')

  const { api } = await buildTestApp(t, settings)
  const admin = await api.loginAs('ops@example.com', 'piped password 1')
  t.equal((await admin.get('/v1/users/me')).body.role, 'admin')
})

t.test('a bad setting is one line naming it', async (t) => {
  const refused = await run('db:migrate', migrateCommand, [], '', { DATABASE_URL: 'mysql://db' })
  t.equal(refused.code, 1)
  t.match(refused.stderr, /^db:migrate: invalid configuration: DATABASE_URL [^\n]*\n$/)
})

t.test('db:migrate applies the migrations and exits', async (t) => {
  const settings = await pglite.create(t, { persistent: true, empty: true })
  const migrated = await run('db:migrate', migrateCommand, [], '', { PGLITE_DATA_DIR: settings.pgliteDataDir })
  t.equal(migrated.code, 0, migrated.stderr)
  t.equal(migrated.stdout, 'migrations applied (pglite)\n')
  const { admin } = await buildTestApp(t, settings)
  t.equal((await admin.get('/v1/users')).status, 200, 'the migrated database serves the app')
})

t.test('client:create registers a machine client and prints its secret once', async (t) => {
  const settings = await pglite.create(t, { persistent: true })
  const env = { PGLITE_DATA_DIR: settings.pgliteDataDir }
  const createClient = (args: string[]) => run('client:create', createClientCommand, args, '', env)
  const created = await createClient(['--name', 'bootstrap', '--scope', 'users:read', '--scope', 'events:read'])
  t.equal(created.code, 0, created.stderr)
  const [, id, secret] = /client_id=(\S+)\nclient_secret=(\S+)\n$/.exec(created.stdout) ?? []
  t.match(created.stdout, /^created client bootstrap \([0-9a-f-]{36}\) with scopes users:read events:read\n/)
  t.match(secret, /^[A-Za-z0-9_-]{43}$/)

  t.equal((await createClient(['--name', 'bootstrap'])).stderr, 'client:create: A client with this name already exists.\n', 'the domain\'s refusal, as one line')
  t.equal((await createClient(['--name', 'other', '--scope', 'root'])).code, 1, 'an unknown scope')
  t.equal((await createClient(['--name', 'jwks', '--auth-method', 'private_key_jwt', '--jwks', '[]'])).stderr, 'client:create: --jwks must be a JSON Web Key Set: {"keys": [...]}\n')
  t.equal((await createClient(['--name', 'method', '--auth-method', 'none'])).code, 1, 'an unknown auth method')
  t.equal((await createClient([])).code, 1, 'no name')

  const { api, app } = await buildTestApp(t, settings)
  const token = await api.post('/v1/auth/token', 'grant_type=client_credentials', { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id!}:${secret!}`).toString('base64')}` })
  t.equal(token.status, 200, 'the printed secret gets a token')
  t.equal((await api.withToken(token.body.access_token).get('/v1/events')).status, 200)
  const [event] = await app.db.select().from(events).where(eq(events.subject, id!))
  t.match(event, { type: 'users.client.created', actor: 'system', actorType: 'system' })
  t.notOk(JSON.stringify(event).includes(secret!), 'the event does not carry the secret')
})

t.test('keys:generate makes a data key ring, and rotates one from stdin', async (t) => {
  const keys = (args: string[], stdin = '') => run('keys:generate', keysGenerateCommand, args, stdin)
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
  t.equal((await keys(['--data', '--retire'])).code, 1, 'a data key is never retired')
  t.equal((await keys(['--rotate', '--retire'])).code, 1)
  t.equal((await keys(['--alg', 'HS256'])).stderr, 'keys:generate: --alg must be one of EdDSA, ES256\n')
})

t.test('keys:generate makes, rotates and retires signing keys', async (t) => {
  const keys = (args: string[], stdin = '') => run('keys:generate', keysGenerateCommand, args, stdin)
  const first = await keys(['--alg', 'ES256'])
  t.equal(first.code, 0, first.stderr)
  const rotated = await keys(['--rotate'], first.stdout)
  const rotatedSet = JSON.parse(rotated.stdout) as { keys: Array<{ kid: string, crv: string }> }
  t.same(rotatedSet.keys.map((key) => key.crv), ['Ed25519', 'P-256'], 'a new key in front, the old one after it')
  const retired = JSON.parse((await keys(['--retire'], rotated.stdout)).stdout) as { keys: Array<{ kid: string }> }
  t.same(retired.keys.map((key) => key.kid), [rotatedSet.keys[0]!.kid], 'only the first key stays')
  t.equal((await keys(['--retire'], '{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"a"}]}')).stderr, 'keys:generate: the current set key 0 is not an Ed25519 (OKP) or P-256 (EC) key\n', 'never a key\'s material')
})

t.test('users:import reads an NDJSON file and says what became of each line', async (t) => {
  const settings = await pglite.create(t, { persistent: true })
  const directory = await mkdtemp(join(tmpdir(), 'users-import-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const file = join(directory, 'users.ndjson')
  await writeFile(file, [
    JSON.stringify({ email: 'moved.1@example.com', name: 'Moved One', password_hash: '$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHQ$' + 'A'.repeat(43) }),
    JSON.stringify({ email: 'moved.2@example.com', name: 'Moved Two' }),
    JSON.stringify({ email: 'moved.1@example.com', name: 'Again' }),
    'not json'
  ].join('\n'))
  const imported = await run('users:import', importUsersCommand, [file], '', { PGLITE_DATA_DIR: settings.pgliteDataDir })
  t.equal(imported.code, 0, imported.stderr)
  t.equal(imported.stdout, 'users:import: 2 created, 1 skipped, 1 failed\n')
  t.match(imported.stderr, /^line 3 \(moved\.1@example\.com\): skipped: \/email came earlier in this request, at index 0\nline 4: failed: \(line\) is not JSON\n$/)
  const { admin } = await buildTestApp(t, settings)
  t.equal((await admin.get('/v1/users?email=moved.2@example.com')).body.data.length, 1, 'in the database')
  t.match((await run('users:import', importUsersCommand, [join(directory, 'missing.ndjson')], '')).stderr, /^users:import: cannot read .*missing\.ndjson: ENOENT\n$/)
  t.equal((await run('users:import', importUsersCommand, [], '')).code, 1, 'no file')
})
