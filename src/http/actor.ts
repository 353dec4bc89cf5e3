import type { FastifyRequest } from 'fastify'
import { userActor, type Actor } from '../access/actor.ts'

/** Who the request acts as: the person or client of its credential (once authenticated), else anonymous. */
export function actorOf (request: FastifyRequest): Actor {
  if (request.client !== undefined) return { kind: 'client', id: request.client.id, scopes: request.client.scopes, requestId: request.id }
  const principal = request.principal
  if (principal === undefined) return { kind: 'anonymous', requestId: request.id }
  return userActor(principal, request.sessionId, request.id, { acr: request.acr ?? 'aal1', mfaRequiredRoles: request.server.domain.mfa.requiredRoles })
}
