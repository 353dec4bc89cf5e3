import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { TokenResponse } from '../schemas/auth.ts'
import { cacheControlNoStore, jsonResponse } from '../schemas/headers.ts'
import { MfaOptionsRequest, MfaRequest, PasskeyLogin, RequestOptions } from '../schemas/mfa.ts'
import { oauthErrorResponses } from '../schemas/problem.ts'
import { refTo } from '../schemas/ref.ts'
import { actorOf } from '../src/http/actor.ts'
import { ProblemError } from '../src/http/problem-error.ts'
import { personTokenResponse } from '../src/http/token-response.ts'
import { startSession } from '../src/identity/sessions.ts'
import { completeSecondFactor, logInWithPasskey, passkeyOptions, secondFactorOptions, type Authenticated } from '../src/mfa/login.ts'

export interface MfaLoginRoutesOptions {
  sessionTtlSeconds: number
  accessTokenTtlSeconds: number
}

// Like the token endpoint: errors are RFC 6749 JSON, and a stricter bucket per client address.
const loginEndpoint = { config: { rateLimitPolicy: 'login' as const, oauthErrors: true } }
const schemaBase = { tags: ['auth'], security: [] }

/**
 * The second step of a login (an `mfa_token` and a factor) and passwordless passkey
 * logins. Each answers a login's token response; what proves what is the domain's.
 */
const mfaLoginRoutes: FastifyPluginAsyncTypebox<MfaLoginRoutesOptions> = async function mfaLoginRoutes (app, { sessionTtlSeconds, accessTokenTtlSeconds }) {
  async function sessionFor (request: FastifyRequest, login: Authenticated) {
    const grant = await startSession(app.domain, actorOf(request), login, { ttlSeconds: sessionTtlSeconds, userAgent: request.headers['user-agent'] })
    return personTokenResponse(app.issuePersonToken, grant, accessTokenTtlSeconds)
  }

  app.post('/auth/mfa', {
    ...loginEndpoint,
    schema: {
      ...schemaBase,
      operationId: 'completeMfa',
      summary: 'Finish a login with a second factor',
      description: 'The `mfa_token` of the password step and one of: a TOTP `code`, a recovery `code` (used up), or a WebAuthn `credential` (an assertion for the options of POST /v1/auth/mfa/webauthn-options). Success uses the `mfa_token` up and starts the session (`amr` `pwd`, `otp` or `hwk`, `mfa`; `acr` `aal2`). A wrong step is a 401 `invalid_grant`, counts as a failed login of the account (the `LOGIN_MAX_FAILURES` delay applies) and leaves the `mfa_token` valid until it expires.',
      body: refTo(MfaRequest),
      response: { 200: jsonResponse(TokenResponse, 'The tokens of the new session', cacheControlNoStore), ...oauthErrorResponses(400, 401, 403, 413, 415, 429, 500, 503) }
    }
  }, async (request, reply) => {
    const { mfa_token: mfaToken, code, credential } = request.body
    if ((code === undefined) === (credential === undefined)) throw new ProblemError('invalid-request', 'Send exactly one of code and credential with the mfa_token.')
    reply.header('cache-control', 'no-store')
    const step = code === undefined ? { credential: credential! } : { code }
    return sessionFor(request, await completeSecondFactor(app.domain, actorOf(request), mfaToken, step))
  })

  app.post('/auth/mfa/webauthn-options', {
    ...loginEndpoint,
    schema: {
      ...schemaBase,
      operationId: 'mfaWebauthnOptions',
      summary: 'Options to prove a WebAuthn factor in a login\'s second step',
      description: 'For the holder of an `mfa_token`: a single-use challenge (5 minutes) for that user\'s credentials. The token is not used up.',
      body: refTo(MfaOptionsRequest),
      response: { 200: jsonResponse(RequestOptions, 'For navigator.credentials.get()'), ...oauthErrorResponses(400, 401, 413, 415, 429, 500, 503) }
    }
  }, async (request) => secondFactorOptions(app.domain, request.body.mfa_token))

  app.post('/auth/passkey/options', {
    ...loginEndpoint,
    schema: {
      ...schemaBase,
      operationId: 'passkeyOptions',
      summary: 'Options for a passwordless login with a passkey',
      description: 'A single-use challenge (5 minutes) for any discoverable credential of this service, with `userVerification: "required"`.',
      response: { 200: jsonResponse(RequestOptions, 'For navigator.credentials.get()'), ...oauthErrorResponses(400, 413, 415, 429, 500, 503) }
    }
  }, async () => passkeyOptions(app.domain))

  app.post('/auth/passkey', {
    ...loginEndpoint,
    schema: {
      ...schemaBase,
      operationId: 'logInWithPasskey',
      summary: 'Log in with a passkey',
      description: 'A user-verified assertion for the options of POST /v1/auth/passkey/options is a whole login (`amr` `hwk`, `mfa`; `acr` `aal2`). An unknown or failing credential is a 401 `invalid_grant`; a disabled account a 403.',
      body: refTo(PasskeyLogin),
      response: { 200: jsonResponse(TokenResponse, 'The tokens of the new session', cacheControlNoStore), ...oauthErrorResponses(400, 401, 403, 413, 415, 429, 500, 503) }
    }
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store')
    return sessionFor(request, await logInWithPasskey(app.domain, request.body.credential))
  })
}

export default mfaLoginRoutes
