import jwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { assertAdmin, assertSelfOrAdmin, type Principal } from '../src/access.js'
import type { Config } from '../src/config.js'
import { UnknownPrincipalError } from '../src/errors.js'
import { invalidTokenProblem, missingCredentialsProblem } from '../src/http/problems.js'
import { principalCache } from '../src/principal-cache.js'
import type { Role } from '../src/roles.js'

export interface AccessToken {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
}

type Guard = (request: FastifyRequest) => Promise<void>

declare module 'fastify' {
  interface FastifyInstance {
    /** Requires a valid token of an existing user; sets request.principal. */
    authenticate: Guard
    /** Like authenticate when credentials are sent; lets anonymous requests through. */
    identify: Guard
    /** After authenticate: only admins. */
    requireAdmin: Guard
    /** After authenticate: only the user named by the `id` path parameter, or an admin. */
    requireSelfOrAdmin: Guard
    issueToken (principal: Principal): AccessToken
    /**
     * The subject of the request's bearer token when the token is valid, else undefined.
     * Verified at most once per request: the rate limiter and the guards both ask.
     */
    tokenSubject (request: FastifyRequest): string | undefined
    /** After a user's role changed or the user was deleted: this replica stops trusting what it remembers. */
    forgetPrincipal (userId: string): void
  }
  interface FastifyRequest {
    principal: Principal | undefined
    verifiedTokenSubject: string | null | undefined
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string, role: Role }
  }
}

/** Distinct tokens whose verification is remembered. */
const TOKEN_CACHE_SIZE = 10_000
/** Users whose role is remembered at once. */
const PRINCIPAL_CACHE_SIZE = 10_000
const BEARER = /^Bearer +(\S+)$/i
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export interface AuthPluginOptions {
  jwt: Config['jwt']
  principalCacheTtlMs: number
  /** The role a user has now; undefined when the user no longer exists. */
  readRole: (userId: string) => Promise<Role | undefined>
  /**
   * Tells of every user whose access changed (onChange) and of every (re)start of
   * listening (onReset: changes may have been missed); resolves to a function that stops.
   */
  watchAccessChanges: (onChange: (userId: string) => void, onReset: () => void) => Promise<() => Promise<void>>
}

/**
 * Bearer JWT authentication (HS256 pinned; exp, iss and aud checked) and the guards
 * routes declare in their hooks: authenticate in onRequest, so credentials are
 * checked before the body is even read; the role guards in preHandler. The user behind a token must still exist, and its current
 * role, not the one in the token, decides what it may do.
 */
async function authPlugin (app: FastifyInstance, { jwt: settings, principalCacheTtlMs, readRole, watchAccessChanges }: AuthPluginOptions): Promise<void> {
  if (settings.secretGenerated) app.log.warn('JWT_SECRET is not set: using a random secret, so tokens die with this process')

  await app.register(jwt, {
    secret: settings.secret,
    sign: { algorithm: 'HS256', iss: settings.issuer, aud: settings.audience, expiresIn: `${settings.ttlSeconds}s` },
    verify: {
      algorithms: ['HS256'],
      allowedIss: settings.issuer,
      allowedAud: settings.audience,
      requiredClaims: ['sub', 'exp', 'iat', 'iss', 'aud'],
      // Clients send one token many times: fast-jwt remembers verdicts (never past exp).
      cache: TOKEN_CACHE_SIZE
    }
  })
  app.decorateRequest('principal', undefined)
  app.decorateRequest('verifiedTokenSubject', undefined)

  function verifySubject (authorization: string | undefined): string | null {
    const token = BEARER.exec(authorization ?? '')?.[1]
    if (token === undefined) return null
    try {
      const { sub } = app.jwt.verify<{ sub?: unknown }>(token)
      return typeof sub === 'string' ? sub : null
    } catch {
      return null
    }
  }

  app.decorate('tokenSubject', (request: FastifyRequest): string | undefined => {
    if (request.verifiedTokenSubject === undefined) request.verifiedTokenSubject = verifySubject(request.headers.authorization)
    return request.verifiedTokenSubject ?? undefined
  })

  // Roles are remembered only while this replica hears about changes: the database
  // announces every role change and deletion, and a replica that lost the channel
  // forgets everything once it listens again.
  const principals = principalCacheTtlMs === 0 ? undefined : principalCache({ ttlMs: principalCacheTtlMs, maxEntries: PRINCIPAL_CACHE_SIZE })
  app.decorate('forgetPrincipal', (userId: string) => principals?.forget(userId))
  if (principals !== undefined) {
    const unlisten = await watchAccessChanges((userId) => principals.forget(userId), () => principals.clear())
    app.addHook('onClose', unlisten)
  }

  async function currentRole (userId: string): Promise<Role | undefined> {
    if (principals === undefined) return readRole(userId)
    const remembered = principals.get(userId)
    if (remembered !== undefined) return remembered
    const readAt = principals.generation()
    const role = await readRole(userId)
    if (role !== undefined) principals.set(userId, role, readAt)
    return role
  }

  async function principalFrom (request: FastifyRequest): Promise<Principal> {
    const subject = app.tokenSubject(request)
    if (subject === undefined) throw invalidTokenProblem('The access token is malformed, expired or not signed by this service.')
    if (!UUID.test(subject)) throw invalidTokenProblem('The access token names no user.')
    const role = await currentRole(subject)
    if (role === undefined) throw new UnknownPrincipalError()
    return { id: subject, role }
  }

  app.decorate('identify', async (request: FastifyRequest) => {
    if (request.headers.authorization !== undefined) request.principal = await principalFrom(request)
  })

  app.decorate('authenticate', async (request: FastifyRequest) => {
    if (request.headers.authorization === undefined) throw missingCredentialsProblem('This operation needs a bearer token (POST /v1/auth/token).')
    request.principal = await principalFrom(request)
  })

  app.decorate('requireAdmin', async (request: FastifyRequest) => {
    assertAdmin(request.principal)
  })

  app.decorate('requireSelfOrAdmin', async (request: FastifyRequest) => {
    assertSelfOrAdmin(request.principal, (request.params as { id: string }).id)
  })

  app.decorate('issueToken', (principal: Principal): AccessToken => ({
    access_token: app.jwt.sign({ sub: principal.id, role: principal.role }),
    token_type: 'Bearer',
    expires_in: settings.ttlSeconds
  }))
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['problems'] })
