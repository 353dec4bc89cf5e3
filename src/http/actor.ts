import type { FastifyRequest } from 'fastify'
import { userActor, type Actor } from '../access/actor.ts'

/** Who the request acts as: the person of its access token (once authenticated), else anonymous. */
export function actorOf (request: FastifyRequest): Actor {
  const principal = request.principal
  if (principal === undefined) return { kind: 'anonymous', requestId: request.id }
  return userActor(principal, request.sessionId, request.id)
}
