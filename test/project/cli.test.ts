import { spawn } from 'node:child_process'
import t from 'tap'
import { typescriptEntry } from '../helpers/child-process.ts'
import { buildTestApp } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'

const pglite = testDatabases.find((database) => database.name === 'pglite')!

function createUserCli (args: string[], stdin: string, env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, typescriptEntry('src/cli/create-user.ts', ...args), { env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.stdin.end(stdin)
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}

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
