import { registerHooks } from 'node:module'
import closeWithGrace from 'close-with-grace'
import { destination } from 'pino'
import type { Config } from './config.ts'
import { resolveInModuleScopes } from './runtime/module-scopes.ts'

// The app's ES module graph loads after the hook is in place: static imports are all
// resolved before any line here runs. (close-with-grace and pino are CommonJS: no matter.)
registerHooks({ resolve: resolveInModuleScopes })
const { buildApp } = await import('./app.ts')
const { ConfigError, loadConfig } = await import('./config.ts')

function exitOnConfigError (error: Error): never {
  process.stderr.write(`users-service: invalid configuration: ${error.message}\n`)
  process.exit(1)
}

function configOrExit (): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    exitOnConfigError(error)
  }
}

const config = configOrExit()
// Asynchronous writes: a synchronous write per request line cost a third of the hot
// path's throughput (bench/), and lines written together coalesce into one write.
// Whatever is still buffered is flushed before the process exits.
const logDestination = destination({ dest: 1, sync: false })
const app = buildApp(config, { logStream: logDestination })

function flushLogs (): void {
  try {
    logDestination.flushSync()
  } catch {
    // Nothing buffered, or stdout is gone: nothing more can be written anyway.
  }
}

// SIGTERM/SIGINT: readiness turns 503, in-flight requests finish, connections and
// pools close, exit 0. A second signal or the grace deadline exits 1.
closeWithGrace({
  delay: config.shutdownGraceMs,
  logger: false,
  onSecondSignal: (signal) => {
    app.log.warn({ signal }, 'second signal: exiting now')
    flushLogs()
  },
  onTimeout: (delay) => {
    app.log.error({ grace_ms: delay }, 'shutdown grace period exceeded: exiting now')
    flushLogs()
  }
}, async ({ signal, err }) => {
  if (err !== undefined) app.log.fatal({ err }, 'crashed: shutting down')
  else app.log.info({ signal }, 'shutting down')
  try {
    await app.close()
  } catch (error) {
    app.log.error({ err: error }, 'shutdown failed')
    flushLogs()
    throw error
  }
  app.log.info('shut down')
  flushLogs()
})

try {
  await app.listen({ host: config.host, port: config.port })
} catch (error) {
  // Some settings (the signing keys) can only be checked while the app starts.
  if (error instanceof ConfigError) exitOnConfigError(error)
  app.log.fatal({ err: error }, 'could not start')
  flushLogs()
  process.exit(1)
}
