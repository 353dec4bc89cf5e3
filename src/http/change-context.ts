import type { FastifyRequest } from 'fastify'
import type { ChangeContext } from '../events/outbox.js'

/** Who is changing what, for the events of the change: the caller (if authenticated) and the request id. */
export function changeContextOf (request: FastifyRequest): ChangeContext {
  return { actor: request.principal?.id, requestId: request.id }
}
