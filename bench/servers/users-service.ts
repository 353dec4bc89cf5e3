/**
 * users-service as src/server.ts runs it (configuration from the environment, log lines
 * written asynchronously to stdout), less what BENCH_WITHOUT names (a comma list): any of
 * BuildOptions['without'], the concerns that no configuration turns off, for the cost
 * ledger (bench/ledger.ts); and `events`, the outbox, for the write scenarios.
 */
import { register } from 'node:module'
import { destination } from 'pino'
import type { BuildOptions } from '../../src/app.js'

const named = (process.env.BENCH_WITHOUT ?? '').split(',').filter((name) => name !== '')
if (named.includes('events')) register('./events-off-hooks.mjs', import.meta.url)
// Imported after the hooks are in place, so that they apply to the whole service.
const { buildApp } = await import('../../src/app.js')
const { loadConfig } = await import('../../src/config.js')

const config = loadConfig()
const logDestination = destination({ dest: 1, sync: false })
const app = buildApp(config, { logStream: logDestination, without: named.filter((name) => name !== 'events') as BuildOptions['without'] })
await app.listen({ host: config.host, port: config.port })
process.once('SIGTERM', () => {
  void app.close().then(() => { logDestination.flushSync() })
})
