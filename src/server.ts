import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'

function configOrExit (): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`users-service: invalid configuration: ${error.message}\n`)
    process.exit(1)
  }
}

const config = configOrExit()
const app = buildApp(config)

let closing = false
async function shutDown (signal: NodeJS.Signals): Promise<void> {
  if (closing) {
    app.log.warn({ signal }, 'second signal: exiting now')
    process.exit(1)
  }
  closing = true
  app.log.info({ signal }, 'shutting down')
  const deadline = setTimeout(() => {
    app.log.error({ grace_ms: config.shutdownGraceMs }, 'shutdown grace period exceeded')
    process.exit(1)
  }, config.shutdownGraceMs)
  deadline.unref()
  await app.close()
  process.exit(0)
}

process.on('SIGTERM', (signal) => { void shutDown(signal) })
process.on('SIGINT', (signal) => { void shutDown(signal) })

try {
  await app.listen({ host: config.host, port: config.port })
} catch (error) {
  app.log.fatal({ err: { type: (error as Error).name, message: (error as Error).message } }, 'could not start')
  process.exit(1)
}
