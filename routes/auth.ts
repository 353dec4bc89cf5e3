import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { IntrospectionRequest, IntrospectionResponse, RevokeRequest, TokenRequest, TokenResponse } from '../schemas/auth.ts'
import { cacheControlNoStore, emptyResponse, jsonResponse } from '../schemas/headers.ts'
import { oauthErrorResponses } from '../schemas/problem.ts'
import { refTo } from '../schemas/ref.ts'
import { authenticateClient, authorizeIntrospection, grantedScopes, type ClientCredentials } from '../src/clients/authentication.ts'
import { clientCredentialsOf, type ClientAuthenticationMembers } from '../src/http/client-authentication.ts'
import { introspectionOf } from '../src/http/introspection.ts'
import { assertUtf8Charset, parseUrlEncoded } from '../src/http/body-encoding.ts'
import { logInWithPassword } from '../src/mfa/login.ts'
import { personTokenResponse } from '../src/http/token-response.ts'
import { MfaRequired } from '../schemas/mfa.ts'
import { actorOf } from '../src/http/actor.ts'
import { missingCredentialsProblem, ProblemError, type FieldError } from '../src/http/problem-error.ts'
import { revokeByRefreshToken, revokeSession, rotateRefreshToken, startSession, type SessionGrant } from '../src/identity/sessions.ts'

// RFC 6749 clients (Swagger UI's Authorize dialog among them) send forms; everyone else JSON.
const consumes = ['application/json', 'application/x-www-form-urlencoded']

function missingMembers (members: Record<string, unknown>, grant: string): FieldError[] {
  return Object.entries(members).filter(([, value]) => value === undefined).map(([name]) => ({ pointer: `/${name}`, detail: `is required for the ${grant} grant` }))
}

function assertPresent (members: Record<string, unknown>, grant: string): void {
  const errors = missingMembers(members, grant)
  if (errors.length > 0) throw new ProblemError('invalid-request', 'The request body lacks a member the grant needs.', { errors })
}

export interface AuthRoutesOptions {
  sessionTtlSeconds: number
  accessTokenTtlSeconds: number
  /** JWT_ISSUER and JWT_AUDIENCE: what tokens say, and what a client assertion may name as its `aud`. */
  issuer: string
  audience: string
  publicUrl: string | undefined
}

const oauthEndpoint = { tags: ['auth'], security: [], consumes }

/**
 * The OAuth endpoints: the RFC 6749 token endpoint (password, refresh token and client
 * credentials grants), RFC 7009 revocation and RFC 7662 introspection. Their errors are
 * RFC 6749 JSON (the problems plugin renders them so, by the route's `oauthErrors`).
 */
const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async function authRoutes (app, { sessionTtlSeconds, accessTokenTtlSeconds, issuer, audience, publicUrl }) {
  // Forms as RFC 6749 sends them, in UTF-8 only: a latin-1 password read as UTF-8 would be a wrong one, and counted as a failure.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      assertUtf8Charset(request)
      done(null, parseUrlEncoded(body as Buffer))
    } catch (error) {
      done(error as Error)
    }
  })

  const tokensFor = (grant: SessionGrant) => personTokenResponse(app.issuePersonToken, grant, accessTokenTtlSeconds)

  // What a client assertion may be addressed to (RFC 7523 §3): the issuer, or this token
  // endpoint's URL on the configured public origin, never on one a request's Host names.
  const assertionAudiences = [issuer, ...(publicUrl === undefined ? [] : [`${publicUrl}${app.prefix}/auth/token`])]

  function credentialsOf (request: FastifyRequest, body: ClientAuthenticationMembers): ClientCredentials | undefined {
    return clientCredentialsOf(request, body, assertionAudiences)
  }

  app.post('/auth/token', {
    // A stricter bucket per client address, whatever the account: a brute-force guard.
    config: { rateLimitPolicy: 'login', oauthErrors: true },
    schema: {
      ...oauthEndpoint,
      operationId: 'createToken',
      summary: 'Log in with email and password, exchange a refresh token, or get a client token',
      description: 'The password grant starts a session, unless the account has a second factor: then the answer is a 403 `mfa_required` with an `mfa_token` and the `factors` the user can finish with at POST /v1/auth/mfa. The refresh grant rotates its refresh token (a used one presented again ends the session). An unknown email and a wrong password get the same 401 `invalid_grant`, in the same time; a disabled account is a 403 only after the right password. After `LOGIN_MAX_FAILURES` consecutive failures for one email (known or not), every attempt for it, from any address and right or wrong, gets a 429 `login-delayed` with `Retry-After` until a delay ends that starts at 1 s and doubles with each further failure, up to 15 minutes; a successful login or a password reset clears the count.\n\nThe client credentials grant gives a machine client a token with the scopes it asks for (`scope`, each one of its own; all of them when absent), no refresh token. The client authenticates with its own method only: HTTP Basic (`client_secret_basic`, id and secret form-urlencoded before base64), `client_id` and `client_secret` in the body (`client_secret_post`), or a `client_assertion` JWT (`private_key_jwt`, RFC 7523: `iss` = `sub` = the client id, `aud` this endpoint\'s URL or the issuer, `exp` at most 5 minutes ahead, a `jti` never used before). Errors are RFC 6749 JSON.',
      body: refTo(TokenRequest),
      response: {
        200: jsonResponse(TokenResponse, 'An access token (and, for a person, the session\'s next refresh token)', cacheControlNoStore),
        ...oauthErrorResponses(400, 401, 413, 415, 429, 500, 503),
        403: { description: '`mfa_required` (the password is right; finish at POST /v1/auth/mfa with the `mfa_token`), `invalid_grant` for a disabled account, or `insufficient_scope`', content: { 'application/json': { schema: refTo(MfaRequired) } } }
      }
    }
  }, async (request, reply) => {
    const body = request.body
    // RFC 6749 §5.1: responses carrying tokens must not be cached.
    reply.header('cache-control', 'no-store')
    const grantType = body.grant_type ?? 'password'
    if (grantType === 'client_credentials') {
      const client = await authenticateClient(app.db, credentialsOf(request, body))
      const scopes = grantedScopes(client, body.scope)
      return { access_token: await app.issueClientToken({ clientId: client.id, scopes }), token_type: 'Bearer' as const, expires_in: accessTokenTtlSeconds, scope: scopes.join(' ') }
    }
    if (grantType !== 'password' && grantType !== 'refresh_token') throw new ProblemError('unsupported-grant-type', `The grant type ${grantType} is not supported: use password, refresh_token or client_credentials.`)
    if (credentialsOf(request, body) !== undefined) throw new ProblemError('unauthorized-client', 'Machine clients get tokens with the client_credentials grant only.')
    if (grantType === 'refresh_token') {
      assertPresent({ refresh_token: body.refresh_token }, 'refresh_token')
      const grant = await rotateRefreshToken(app.domain, actorOf(request), body.refresh_token!)
      return tokensFor(grant)
    }
    const email = body.email ?? body.username
    assertPresent({ [body.username === undefined ? 'email' : 'username']: email, password: body.password }, 'password')
    const login = await logInWithPassword(app.domain, email!, body.password!)
    if (login === undefined) throw missingCredentialsProblem('The email or password is wrong.')
    return tokensFor(await startSession(app.domain, actorOf(request), login, { ttlSeconds: sessionTtlSeconds, userAgent: request.headers['user-agent'] }))
  })

  app.post('/auth/revoke', {
    config: { oauthErrors: true },
    schema: {
      ...oauthEndpoint,
      operationId: 'revokeToken',
      summary: 'Log out: end the session of a refresh (or access) token',
      description: 'RFC 7009: the session ends, with its refresh and access tokens. An unknown or already revoked token is a 200 too, so the answer tells nothing about the token. A client may authenticate (as at the token endpoint; wrong credentials are a 401 `invalid_client`); a client\'s own token is not revoked, it expires (at most `JWT_TTL_SECONDS` after issue).',
      body: refTo(RevokeRequest),
      response: { 200: emptyResponse('Revoked, or there was nothing to revoke'), ...oauthErrorResponses(400, 401, 413, 415, 500, 503) }
    }
  }, async (request, reply) => {
    const { token } = request.body
    const credentials = credentialsOf(request, request.body)
    if (credentials !== undefined) await authenticateClient(app.db, credentials)
    const accessClaims = await app.verifyAccessToken(token)
    if (accessClaims === undefined) await revokeByRefreshToken(app.domain, actorOf(request), token)
    else if (accessClaims.kind === 'person') await revokeSession(app.domain, actorOf(request), accessClaims.sid)
    return reply.code(200).send()
  })

  app.post('/auth/introspect', {
    config: { oauthErrors: true },
    schema: {
      ...oauthEndpoint,
      operationId: 'introspectToken',
      summary: 'Ask whether a token or API key is active now (RFC 7662)',
      description: 'For a client holding `tokens:introspect`, authenticated as at the token endpoint: so a service that must know now whether a session was revoked need not trust a token until its `exp`. `{active: false}` for anything this service would refuse now.',
      body: refTo(IntrospectionRequest),
      response: { 200: jsonResponse(IntrospectionResponse, 'What the token is', cacheControlNoStore), ...oauthErrorResponses(400, 401, 403, 413, 415, 500, 503) }
    }
  }, async (request, reply) => {
    await authorizeIntrospection(app.db, credentialsOf(request, request.body), request.id)
    reply.header('cache-control', 'no-store')
    return introspectionOf(await app.liveCredential(request.body.token), { issuer, audience })
  })
}

export default authRoutes
