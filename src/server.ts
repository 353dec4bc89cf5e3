import closeWithGrace from 'close-with-grace'
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

// SIGTERM/SIGINT: readiness turns 503, in-flight requests finish, connections and
// pools close, exit 0. A second signal or the grace deadline exits 1.
closeWithGrace({
  delay: config.shutdownGraceMs,
  logger: false,
  onSecondSignal: (signal) => app.log.warn({ signal }, 'second signal: exiting now'),
  onTimeout: (delay) => app.log.error({ grace_ms: delay }, 'shutdown grace period exceeded: exiting now')
}, async ({ signal, err }) => {
  if (err !== undefined) app.log.fatal({ err: { type: err.name, message: err.message, stack: err.stack } }, 'crashed: shutting down')
  else app.log.info({ signal }, 'shutting down')
  try {
    await app.close()
  } catch (error) {
    app.log.error({ err: { type: (error as Error).name, message: (error as Error).message, stack: (error as Error).stack } }, 'shutdown failed')
    throw error
  }
  app.log.info('shut down')
})

try {
  await app.listen({ host: config.host, port: config.port })
} catch (error) {
  app.log.fatal({ err: { type: (error as Error).name, message: (error as Error).message } }, 'could not start')
  process.exit(1)
}
