import { execFile, spawn } from 'node:child_process'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { TEST_DATA_KEYS, TEST_SIGNING_KEYS } from '../helpers/app.ts'
import { withoutCoverage } from '../helpers/child-process.ts'

const run = promisify(execFile)
// Coverage is of this project's sources; recording it in tsc, npm and the compiled output
// only slows them down (tsc takes 2.5 times as long).
const env = withoutCoverage(process.env)

// What the container's runtime stage does, without a container engine: the built
// output plus `npm ci --omit=dev` in a directory of its own, started with NODE_ENV=production.
t.test('the production install starts, answers its probes, and stops on SIGTERM', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'users-service-production-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const built = join(directory, 'build')
  // The emit only: `npm test` has type-checked these sources already (test/static-checks.ts), and
  // type-checking took most of the 27 s of CPU the build cost here. The output is the same.
  await run('node_modules/.bin/tsc', ['-p', 'tsconfig.build.json', '--outDir', built, '--noCheck'], { env })
  const app = join(directory, 'app')
  await cp(join(built), join(app, 'dist'), { recursive: true })
  for (const entry of ['package.json', 'package-lock.json', 'patches', 'migrations']) await cp(entry, join(app, entry), { recursive: true })
  await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, env, timeout: 300_000 })

  const dev = await run('npm', ['ls', '--omit=dev', '--depth=0', '--parseable'], { cwd: app, env }).then(({ stdout }) => stdout)
  t.notMatch(dev, /node_modules\/(tap|typescript|tsx|drizzle-kit)$/m, 'no dev dependency is installed')

  const child = spawn(process.execPath, ['dist/src/server.js'], {
    cwd: app,
    env: { ...withoutCoverage({}), PATH: process.env.PATH, NODE_ENV: 'production', PUBLIC_URL: 'https://users.example.com', HOST: '127.0.0.1', PORT: '0', JWT_SIGNING_KEYS: TEST_SIGNING_KEYS, DATA_ENCRYPTION_KEYS: TEST_DATA_KEYS, PGLITE_DATA_DIR: join(directory, 'data') },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let log = ''
  child.stderr.on('data', (chunk: Buffer) => { log += chunk.toString() })
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log)
      if (match !== null) resolve(match[1]!)
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${log}`)))
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.equal((await fetch(`${url}/health/live`)).status, 200)
  const ready = await fetch(`${url}/health/ready`)
  t.equal(ready.status, 200, await ready.clone().text())
  const docs = await fetch(`${url}/docs/`)
  t.equal(docs.status, 200, 'Swagger UI is served from the production dependencies')
  t.equal((await fetch(`${url}/v1/users/me`)).status, 401)
  t.notMatch(log, /"level":(50|60)/, 'no errors logged')
  child.kill('SIGTERM')
  t.equal(await exited, 0)
})
