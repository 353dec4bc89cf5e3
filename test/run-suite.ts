/**
 * `npm test`: starts the throw-away services the suite needs on loopback ports,
 * runs tap with their addresses in the environment, then tears them down.
 * With CI=true a service that cannot start fails the run; elsewhere the tests
 * that need it say they are skipped and why.
 */
import { spawn } from 'node:child_process'
import { startPostgres, type PostgresServer } from './services/postgres.js'
import { startRedis, type RedisServer } from './services/redis.js'

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

function runTap (env: NodeJS.ProcessEnv): Promise<number> {
  const tap = spawn('node_modules/.bin/tap', process.argv.slice(2), { stdio: 'inherit', env })
  const forward = (signal: NodeJS.Signals) => tap.kill(signal)
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  return new Promise((resolve) => tap.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128))))
}

let postgresServer: PostgresServer | undefined
let redisServer: RedisServer | undefined
let exitCode = 1
try {
  postgresServer = await startOptional('PostgreSQL', startPostgres)
  redisServer = await startOptional('Redis', startRedis)
  const env = { ...process.env }
  if (postgresServer !== undefined) env.TEST_POSTGRES_URL = postgresServer.url
  if (redisServer !== undefined) env.TEST_REDIS_URL = redisServer.url
  exitCode = await runTap(env)
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`)
} finally {
  await postgresServer?.destroy()
  await redisServer?.destroy()
}
process.exit(exitCode)
