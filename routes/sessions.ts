import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { SessionList, SessionParams } from '../schemas/auth.ts'
import { bearerOrClient } from '../schemas/security.ts'
import { emptyResponse, jsonResponse } from '../schemas/headers.ts'
import { problemResponses } from '../schemas/problem.ts'
import { UserIdParams } from '../schemas/user.ts'
import { actorOf } from '../src/http/actor.ts'
import { listSessions, revokeUserSession, revokeUserSessions } from '../src/identity/sessions.ts'

const tags = ['sessions']
const ended = { 204: emptyResponse('Ended') }

/** A user's sessions (logins): the user themself or an admin sees and ends them. */
const sessionsRoutes: FastifyPluginAsyncTypebox = async function sessionsRoutes (app) {
  // Whose sessions the caller may see or end is the domain's rule (the user themself or an admin).
  const selfOrAdmin = { onRequest: app.authenticate }

  app.get('/users/:id/sessions', {
    schema: {
      tags,
      operationId: 'listSessions',
      summary: 'List a user\'s live sessions',
      description: 'Newest first; `current` marks the session of the caller\'s own token.',
      security: bearerOrClient('users:read'),
      params: UserIdParams,
      response: { 200: jsonResponse(SessionList, 'The live sessions'), ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...selfOrAdmin
  }, async (request) => {
    return { data: await listSessions(app.domain, actorOf(request), request.params.id) }
  })

  app.delete('/users/:id/sessions', {
    schema: {
      tags,
      operationId: 'deleteSessions',
      summary: 'End every session of a user',
      description: 'Logs the user out everywhere, the caller\'s own session included: their refresh and access tokens stop working at once.',
      security: bearerOrClient('users:write'),
      params: UserIdParams,
      response: { ...ended, ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...selfOrAdmin
  }, async (request, reply) => {
    await revokeUserSessions(app.domain, actorOf(request), request.params.id)
    return reply.code(204).send()
  })

  app.delete('/users/:id/sessions/:session_id', {
    schema: {
      tags,
      operationId: 'deleteSession',
      summary: 'End one session of a user',
      description: 'Its refresh and access tokens stop working at once.',
      security: bearerOrClient('users:write'),
      params: SessionParams,
      response: { ...ended, ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...selfOrAdmin
  }, async (request, reply) => {
    await revokeUserSession(app.domain, actorOf(request), request.params.id, request.params.session_id)
    return reply.code(204).send()
  })
}

export default sessionsRoutes
