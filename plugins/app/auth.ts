import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Principal } from '../../src/access/actor.ts'
import { accessTokens, type AccessClaims } from '../../src/identity/access-tokens.ts'
import { invalidTokenProblem, missingCredentialsProblem } from '../../src/http/problem-error.ts'
import { principalCache, type SessionAccess } from '../../src/access/principal-cache.ts'
import type { Role } from '../../src/users/roles.ts'
import type { PublicJwk, SigningKeySet } from '../../src/identity/signing-keys.ts'
import type { AccessChanges } from '../../src/common/domain.ts'
import type { AccessChangeListener } from '../../src/users/users.ts'

type Guard = (request: FastifyRequest) => Promise<void>

declare module 'fastify' {
  interface FastifyInstance {
    /** Requires a valid access token of a live session of an active user; sets request.principal. */
    authenticate: Guard
    /** Like authenticate when credentials are sent; lets anonymous requests through. */
    identify: Guard
    issueAccessToken (grant: { userId: string, role: Role, sessionId: string }): Promise<string>
    /** The claims of an access token this service signed and that has not expired; its session may have ended. */
    verifyAccessToken (token: string): Promise<AccessClaims | undefined>
    /** The public halves of the signing keys: what /.well-known/jwks.json serves. */
    publicJwks: { keys: PublicJwk[] }
    /**
     * The subject of the request's bearer token when the token is valid, else undefined.
     * Verified at most once per request: the rate limiter and the guards both ask.
     */
    tokenSubject (request: FastifyRequest): Promise<string | undefined>
    /** The port the domain tells of changes made here, so this replica stops trusting what it remembers of them. */
    accessChanges: AccessChanges
  }
  interface FastifyRequest {
    principal: Principal | undefined
    /** The session of the caller's access token. */
    sessionId: string | undefined
    verifiedToken: Promise<AccessClaims | undefined> | undefined
  }
}

/** Sessions remembered at once. */
const PRINCIPAL_CACHE_SIZE = 10_000
const BEARER = /^Bearer +(\S+)$/i

export interface AuthPluginOptions {
  /** Resolves to the signing keys: the first signs, all verify. */
  keys: () => Promise<SigningKeySet>
  issuer: string
  audience: string
  ttlSeconds: number
  principalCacheTtlMs: number
  /** What a session grants now; undefined when it ended or its user is disabled or gone. */
  readSessionAccess: (sessionId: string) => Promise<SessionAccess | undefined>
  /** Subscribes to changes of users and sessions; resolves to a function that stops. */
  watchAccessChanges: (listener: AccessChangeListener) => Promise<() => Promise<void>>
}

/**
 * Bearer access tokens (EdDSA or ES256 from a JWK Set, RFC 9068 `at+jwt`) and the
 * guards routes declare in their hooks: authenticate in onRequest, so credentials are
 * checked before the body is even read. Who may do what with them is the domain's to
 * decide (src/access/rules.ts), whoever calls it. A valid
 * signature is not enough: the token's session must still be live and its user
 * active, and the user's current role, not the one in the token, decides.
 */
async function authPlugin (app: FastifyInstance, options: AuthPluginOptions): Promise<void> {
  const keys = await options.keys()
  const tokens = accessTokens({ keys, issuer: options.issuer, audience: options.audience, ttlSeconds: options.ttlSeconds })
  app.decorate('publicJwks', { keys: keys.all.map((key) => key.publicJwk) })
  app.decorate('issueAccessToken', (grant: { userId: string, role: Role, sessionId: string }) => tokens.issue(grant))
  app.decorate('verifyAccessToken', (token: string) => tokens.verify(token))
  app.decorateRequest('principal', undefined)
  app.decorateRequest('sessionId', undefined)
  app.decorateRequest('verifiedToken', undefined)

  function verified (request: FastifyRequest): Promise<AccessClaims | undefined> {
    if (request.verifiedToken === undefined) {
      const token = BEARER.exec(request.headers.authorization ?? '')?.[1]
      request.verifiedToken = token === undefined ? Promise.resolve(undefined) : tokens.verify(token)
    }
    return request.verifiedToken
  }
  app.decorate('tokenSubject', async (request: FastifyRequest) => (await verified(request))?.sub)

  // What sessions grant is remembered only while this replica hears about changes: the
  // database announces every revoked session and every user whose role or status
  // changed, and a replica that lost the channel forgets everything once it listens again.
  const principals = options.principalCacheTtlMs === 0 ? undefined : principalCache({ ttlMs: options.principalCacheTtlMs, maxEntries: PRINCIPAL_CACHE_SIZE })
  app.decorate('accessChanges', {
    userChanged: (userId: string) => principals?.forgetUser(userId),
    sessionEnded: (sessionId: string) => principals?.forgetSession(sessionId)
  })
  if (principals !== undefined) {
    const unlisten = await options.watchAccessChanges({
      onChange: ({ kind, id }) => (kind === 'user' ? principals.forgetUser(id) : principals.forgetSession(id)),
      onReset: () => principals.clear()
    })
    app.addHook('onClose', unlisten)
  }

  async function currentAccess (sessionId: string): Promise<SessionAccess | undefined> {
    if (principals === undefined) return options.readSessionAccess(sessionId)
    const remembered = principals.get(sessionId)
    if (remembered !== undefined) return remembered
    const readAt = principals.generation()
    const access = await options.readSessionAccess(sessionId)
    if (access !== undefined) principals.set(sessionId, access, readAt)
    return access
  }

  async function principalFrom (request: FastifyRequest): Promise<Principal> {
    const claims = await verified(request)
    if (claims === undefined) throw invalidTokenProblem('The access token is malformed, expired or not signed by this service.')
    const access = await currentAccess(claims.sid)
    if (access === undefined || access.userId !== claims.sub) throw invalidTokenProblem('The session of this access token has ended.')
    request.sessionId = claims.sid
    return { id: claims.sub, role: access.role }
  }

  app.decorate('identify', async (request: FastifyRequest) => {
    if (request.headers.authorization !== undefined) request.principal = await principalFrom(request)
  })

  app.decorate('authenticate', async (request: FastifyRequest) => {
    if (request.headers.authorization === undefined) throw missingCredentialsProblem('This operation needs a bearer token (POST /v1/auth/token).')
    request.principal = await principalFrom(request)
  })
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['problems'] })
