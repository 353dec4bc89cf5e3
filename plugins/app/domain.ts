import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Domain } from '../../src/common/domain.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** What the routes hand every domain operation: the database, and the port to this replica's principal cache. */
    domain: Domain
  }
}

/** Hands the domain what it needs, so that the domain, not a route, tells the cache what changed. */
async function domainPlugin (app: FastifyInstance): Promise<void> {
  app.decorate('domain', { db: app.db, access: app.accessChanges })
}

export default fp(domainPlugin, { name: 'domain', fastify: '5.x', dependencies: ['database', 'auth'] })
