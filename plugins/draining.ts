import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ProblemError } from '../src/http/problems.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** True from the moment the app starts closing. */
    readonly draining: boolean
  }
}

const PROBES = '/health/'

/**
 * Graceful drain. When close() begins, requests already running finish, while new
 * ones arriving on open connections get a 503 problem with Retry-After; every response
 * while draining says `Connection: close`, so clients move to another replica. Probes still answer:
 * readiness reports the drain itself, liveness stays up.
 */
async function drainingPlugin (app: FastifyInstance): Promise<void> {
  let draining = false
  app.decorate('draining', { getter: () => draining })
  app.addHook('preClose', async () => { draining = true })
  // close() reaps only the connections idle at that moment; a keep-alive connection whose
  // request finishes later would hold the server open until the grace period ran out.
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close')
  })
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!draining || request.url.startsWith(PROBES)) return
    throw new ProblemError('service-unavailable', 'This instance is shutting down; retry, another one will answer.', { headers: { 'retry-after': '1' } })
  })
}

export default fp(drainingPlugin, { name: 'draining', fastify: '5.x', dependencies: ['problems'] })
