import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { RevokeRequest, TokenRequest, TokenResponse } from '../schemas/auth.ts'
import { emptyResponse, jsonResponse } from '../schemas/headers.ts'
import { problemResponses } from '../schemas/problem.ts'
import { refTo } from '../schemas/ref.ts'
import { logIn } from '../src/identity/credentials.ts'
import { actorOf } from '../src/http/actor.ts'
import type { LoginThrottlePolicy } from '../src/identity/login-throttle.ts'
import { missingCredentialsProblem, ProblemError, type FieldError } from '../src/http/problem-error.ts'
import { revokeByRefreshToken, revokeSession, rotateRefreshToken, startSession, type SessionGrant } from '../src/identity/sessions.ts'

const cacheControlNoStore = { 'Cache-Control': Type.Literal('no-store', { description: 'Tokens must not be cached (RFC 6749 §5.1).' }) }
// RFC 6749 clients (Swagger UI's Authorize dialog among them) send forms; everyone else JSON.
const consumes = ['application/json', 'application/x-www-form-urlencoded']

function missingMembers (members: Record<string, unknown>, grant: string): FieldError[] {
  return Object.entries(members).filter(([, value]) => value === undefined).map(([name]) => ({ pointer: `/${name}`, detail: `is required for the ${grant} grant` }))
}

function assertPresent (members: Record<string, unknown>, grant: string): void {
  const errors = missingMembers(members, grant)
  if (errors.length > 0) throw new ProblemError('validation-failed', 'The request body does not match the schema.', { errors })
}

export interface AuthRoutesOptions {
  sessionTtlSeconds: number
  accessTokenTtlSeconds: number
  loginThrottle: LoginThrottlePolicy
}

/** Logging in, refreshing and logging out: the RFC 6749 token endpoint and RFC 7009 revocation. */
const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async function authRoutes (app, { sessionTtlSeconds, accessTokenTtlSeconds, loginThrottle }) {
  await app.register(formbody)

  async function tokensFor (grant: SessionGrant) {
    return {
      access_token: await app.issueAccessToken({ userId: grant.principal.id, role: grant.principal.role, sessionId: grant.sessionId }),
      token_type: 'Bearer' as const,
      expires_in: accessTokenTtlSeconds,
      refresh_token: grant.refreshToken
    }
  }

  app.post('/auth/token', {
    // A stricter bucket per client address, whatever the account: a brute-force guard.
    config: { rateLimitPolicy: 'login' },
    schema: {
      tags: ['auth'],
      operationId: 'createToken',
      summary: 'Log in with email and password, or exchange a refresh token',
      description: 'The password grant starts a session; the refresh grant rotates its refresh token (a used one presented again ends the session). An unknown email and a wrong password get the same 401, in the same time; a disabled account is a 403 only after the right password. After `LOGIN_MAX_FAILURES` consecutive failures for one email (known or not), every attempt for it, from any address and right or wrong, gets a 429 `login-delayed` with `Retry-After` until a delay ends that starts at 1 s and doubles with each further failure, up to 15 minutes; a successful login or a password reset clears the count.',
      security: [],
      consumes,
      body: refTo(TokenRequest),
      response: { 200: jsonResponse(TokenResponse, 'An access token and the session\'s next refresh token', cacheControlNoStore), ...problemResponses(400, 401, 403, 413, 415, 422, 429, 500, 503) }
    }
  }, async (request, reply) => {
    const body = request.body
    // RFC 6749 §5.1: responses carrying tokens must not be cached.
    reply.header('cache-control', 'no-store')
    if (body.grant_type === 'refresh_token') {
      assertPresent({ refresh_token: body.refresh_token }, 'refresh_token')
      const grant = await rotateRefreshToken(app.domain, actorOf(request), body.refresh_token!)
      return tokensFor(grant)
    }
    const email = body.email ?? body.username
    assertPresent({ [body.username === undefined ? 'email' : 'username']: email, password: body.password }, 'password')
    const principal = await logIn(app.db, email!, body.password!, loginThrottle)
    if (principal === undefined) throw missingCredentialsProblem('The email or password is wrong.')
    return tokensFor(await startSession(app.domain, actorOf(request), principal, { ttlSeconds: sessionTtlSeconds, userAgent: request.headers['user-agent'] }))
  })

  app.post('/auth/revoke', {
    schema: {
      tags: ['auth'],
      operationId: 'revokeToken',
      summary: 'Log out: end the session of a refresh (or access) token',
      description: 'RFC 7009: the session ends, with its refresh and access tokens. An unknown or already revoked token is a 200 too, so the answer tells nothing about the token.',
      security: [],
      consumes,
      body: refTo(RevokeRequest),
      response: { 200: emptyResponse('Revoked, or there was nothing to revoke'), ...problemResponses(400, 413, 415, 422, 500, 503) }
    }
  }, async (request, reply) => {
    const { token } = request.body
    const accessClaims = await app.verifyAccessToken(token)
    if (accessClaims === undefined) await revokeByRefreshToken(app.domain, actorOf(request), token)
    else await revokeSession(app.domain, actorOf(request), accessClaims.sid)
    return reply.code(200).send()
  })
}

export default authRoutes
