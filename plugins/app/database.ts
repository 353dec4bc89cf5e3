import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { connectDatabase, type Database, type DatabaseConnection, type DatabaseSettings } from '../../src/db/connect.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The drizzle handle the resource modules in src/ take. */
    db: Database
    database: DatabaseConnection
  }
}

export interface DatabasePluginOptions {
  settings: DatabaseSettings
}

/** Connects to PostgreSQL or PGlite, applies migrations, and closes the connection with the app. */
async function databasePlugin (app: FastifyInstance, { settings }: DatabasePluginOptions): Promise<void> {
  const driver = settings.url === undefined ? 'pglite' : 'postgres'
  app.log.info({ driver }, 'waiting for the database to open')
  const connection = await connectDatabase(settings)
  try {
    app.log.info({ driver }, 'waiting for migrations (and for any other replica migrating)')
    await connection.migrate()
    app.log.info({ driver }, 'database ready')
  } catch (error) {
    await connection.close()
    throw error
  }
  app.decorate('database', connection)
  app.decorate('db', connection.db)
  app.addHook('onClose', () => connection.close())
}

export default fp(databasePlugin, { name: 'database', fastify: '5.x' })
