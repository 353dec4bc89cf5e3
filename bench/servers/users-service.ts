/**
 * users-service as src/server.ts runs it (configuration from the environment, log lines
 * written asynchronously to stdout), less what BENCH_WITHOUT names (a comma list): the
 * concerns that no configuration turns off (security-headers, tracing-headers,
 * token-cache), for the cost ledger (bench/ledger.ts); and `events`, the outbox, for the
 * write scenarios. Each is replaced by a stand-in module (without-hooks.mjs).
 */
import { register } from 'node:module'
import { destination } from 'pino'

const named = (process.env.BENCH_WITHOUT ?? '').split(',').filter((name) => name !== '')
if (named.length > 0) register('./without-hooks.mjs', { parentURL: import.meta.url, data: named })
// Imported after the hooks are in place, so that they apply to the whole service.
const { buildApp } = await import('../../src/app.ts')
const { loadConfig } = await import('../../src/config.ts')

const config = loadConfig()
const logDestination = destination({ dest: 1, sync: false })
const app = buildApp(config, { logStream: logDestination })
await app.listen({ host: config.host, port: config.port })
process.once('SIGTERM', () => {
  void app.close().then(() => { logDestination.flushSync() })
})
