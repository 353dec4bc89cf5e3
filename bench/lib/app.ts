import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'

export interface InProcessApp {
  app: FastifyInstance
  /** http://127.0.0.1:<port> */
  url: string
  close (): Promise<void>
}

/**
 * The service built from configuration in this process, as the tests build it (the same
 * `loadConfig` and `buildApp` as the server), listening on a free loopback port. `env`
 * is what the environment would carry; an in-memory PGlite unless it names a database.
 */
export async function startInProcess (env: Record<string, string>): Promise<InProcessApp> {
  const app = buildApp(loadConfig({ PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'warn', ...env }))
  try {
    await app.listen({ host: '127.0.0.1', port: 0 })
  } catch (error) {
    await app.close()
    throw error
  }
  const { port } = app.server.address() as { port: number }
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() }
}
