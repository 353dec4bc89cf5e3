import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { TokenRequest, TokenResponse } from '../schemas/auth.js'
import { jsonResponse } from '../schemas/headers.js'
import { problemResponses } from '../schemas/problem.js'
import { refTo } from '../schemas/ref.js'
import { verifyCredentials } from '../src/credentials.js'
import { ProblemError } from '../src/http/problems.js'

const cacheControlNoStore = { 'Cache-Control': Type.Literal('no-store', { description: 'Tokens must not be cached (RFC 6749 §5.1).' }) }

/** Login: credentials in, a bearer token out. */
const authRoutes: FastifyPluginAsyncTypebox = async function authRoutes (app) {
  app.post('/auth/token', {
    // A stricter bucket per client address, whatever the account: a brute-force guard.
    config: { rateLimitPolicy: 'login' },
    schema: {
      tags: ['auth'],
      operationId: 'createToken',
      summary: 'Log in: exchange email and password for an access token',
      description: 'An unknown email and a wrong password get the same 401, in the same time.',
      security: [],
      body: refTo(TokenRequest),
      response: { 200: jsonResponse(TokenResponse, 'An access token', cacheControlNoStore), ...problemResponses(400, 401, 413, 415, 422, 500, 503) }
    }
  }, async (request, reply) => {
    const principal = await verifyCredentials(app.db, request.body.email, request.body.password)
    if (principal === undefined) {
      throw new ProblemError('unauthorized', 'The email or password is wrong.', { headers: { 'www-authenticate': 'Bearer realm="users-service"' } })
    }
    // RFC 6749 §5.1: responses carrying tokens must not be cached.
    reply.header('cache-control', 'no-store')
    return app.issueToken(principal)
  })
}

export default authRoutes
