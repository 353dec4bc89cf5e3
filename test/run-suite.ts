/**
 * `npm test`: starts the throw-away services the suite needs on loopback ports,
 * runs tap with their addresses in the environment, then tears them down.
 * With CI=true a service that cannot start fails the run; elsewhere the tests
 * that need it say they are skipped and why.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { connectDatabase } from '../src/db/connect.ts'
import { PGLITE_SEED_VARIABLE, PGLITE_TEMPLATE_VARIABLE, POSTGRES_TEMPLATE_VARIABLE } from './helpers/databases.ts'
import { startPostgres, type PostgresServer } from './services/postgres.ts'
import { startRedis, type RedisServer } from './services/redis.ts'

const inCi = process.env.CI === 'true'

async function startOptional<T> (name: string, start: () => Promise<T>): Promise<T | undefined> {
  try {
    return await start()
  } catch (error) {
    const message = `${name} could not start: ${(error as Error).message}`
    if (inCi) throw new Error(message)
    process.stderr.write(`warning: ${message}\nwarning: tests that need ${name} will be skipped\n`)
    return undefined
  }
}

/**
 * A PGlite database with every migration applied, closed again: as a data directory,
 * which tests that restart an app or spawn a server copy, and as its dump, which the
 * in-memory databases of all other tests start from.
 */
async function migratedPglite (): Promise<{ directory: string, seed: string }> {
  const directory = await mkdtemp(join(tmpdir(), 'users-service-pglite-template-'))
  const connection = await connectDatabase({ url: undefined, pgliteDataDir: join(directory, 'data'), poolMax: 1 })
  await connection.migrate().finally(() => connection.close())
  const { PGlite } = await import('@electric-sql/pglite')
  const { pg_trgm: pgTrgm } = await import('@electric-sql/pglite/contrib/pg_trgm')
  const dumping = await PGlite.create(join(directory, 'data'), { extensions: { pg_trgm: pgTrgm } })
  const dump = await dumping.dumpDataDir('none').finally(() => dumping.close())
  const seed = join(directory, 'seed.tar')
  await writeFile(seed, Buffer.from(await dump.arrayBuffer()))
  return { directory, seed }
}

/** A PostgreSQL database with every migration applied and nobody connected: each test's database is created from it. */
async function migratedPostgresTemplate (serverUrl: string): Promise<string> {
  const name = 'users_test_template'
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`).finally(() => admin.end())
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const connection = await connectDatabase({ url: url.toString(), pgliteDataDir: 'memory://', poolMax: 1 })
  await connection.migrate().finally(() => connection.close())
  return name
}

// tap leaves a core free by default, which on two cores runs the files one at a time, while
// many of them spend part of their time waiting on timers, child processes and the database:
// one file more than there are cores fills those waits (on 2 cores: 248 s -> 229 s of tap time).
const jobs = availableParallelism() + 1

function runTap (env: NodeJS.ProcessEnv): Promise<number> {
  const tap = spawn('node_modules/.bin/tap', [`--jobs=${jobs}`, ...process.argv.slice(2)], { stdio: 'inherit', env })
  const forward = (signal: NodeJS.Signals) => tap.kill(signal)
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  return new Promise((resolve) => tap.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128))))
}

let postgresServer: PostgresServer | undefined
let redisServer: RedisServer | undefined
let pgliteTemplate: string | undefined
let exitCode = 1
try {
  postgresServer = await startOptional('PostgreSQL', startPostgres)
  redisServer = await startOptional('Redis', startRedis)
  const pglite = await migratedPglite()
  pgliteTemplate = pglite.directory
  const env: NodeJS.ProcessEnv = { ...process.env, [PGLITE_TEMPLATE_VARIABLE]: join(pglite.directory, 'data'), [PGLITE_SEED_VARIABLE]: pglite.seed }
  if (postgresServer !== undefined) {
    env.TEST_POSTGRES_URL = postgresServer.url
    env[POSTGRES_TEMPLATE_VARIABLE] = await migratedPostgresTemplate(postgresServer.url)
  }
  if (redisServer !== undefined) env.TEST_REDIS_URL = redisServer.url
  exitCode = await runTap(env)
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`)
} finally {
  await postgresServer?.destroy()
  await redisServer?.destroy()
  if (pgliteTemplate !== undefined) await rm(pgliteTemplate, { recursive: true, force: true })
}
process.exit(exitCode)
