import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Assurance, Principal } from '../../src/access/actor.ts'
import type { ClientPrincipal, LiveCredential, VerifiedCredential } from '../../src/access/credential.ts'
import { accessTokens, type AccessClaims, type ClientGrant, type PersonGrant } from '../../src/identity/access-tokens.ts'
import { invalidTokenProblem, missingCredentialsProblem } from '../../src/http/problem-error.ts'
import { principalCache, type ApiKeyAccess, type ClientAccess, type SessionAccess } from '../../src/access/principal-cache.ts'
import type { Scope } from '../../src/clients/scopes.ts'
import type { PublicJwk, SigningKeySet } from '../../src/identity/signing-keys.ts'
import type { AccessChanges } from '../../src/common/domain.ts'
import type { AccessChangeListener } from '../../src/users/users.ts'
import { API_KEY_PREFIX } from '../../src/clients/credentials.ts'

type Guard = (request: FastifyRequest) => Promise<void>

declare module 'fastify' {
  interface FastifyInstance {
    /** Requires a valid credential of a live session of an active user, or of an active client; sets request.principal or request.client. */
    authenticate: Guard
    /** Like authenticate when credentials are sent; lets anonymous requests through. */
    identify: Guard
    issuePersonToken (grant: PersonGrant): Promise<string>
    issueClientToken (grant: ClientGrant): Promise<string>
    /** The claims of an access token this service signed and that has not expired; its session or client may be gone. */
    verifyAccessToken (token: string): Promise<AccessClaims | undefined>
    /**
     * What a bearer credential grants now, as introspection tells it: undefined for
     * anything this service would refuse (expired, forged, an ended session, a disabled
     * or deleted user, client or key).
     */
    liveCredential (token: string): Promise<LiveCredential | undefined>
    /** The public halves of the signing keys: what /.well-known/jwks.json serves. */
    publicJwks: { keys: PublicJwk[] }
    /**
     * Whose valid credential the request carries (`user:<id>` or `client:<id>`), else
     * undefined. Verified at most once per request: the rate limiter and the guards both ask.
     */
    callerKey (request: FastifyRequest): Promise<string | undefined>
    /** The port the domain tells of changes made here, so this replica stops trusting what it remembers of them. */
    accessChanges: AccessChanges
  }
  interface FastifyRequest {
    principal: Principal | undefined
    client: ClientPrincipal | undefined
    /** The session of the caller's access token. */
    sessionId: string | undefined
    /** How strongly that session was authenticated (the token's `acr`). */
    acr: Assurance | undefined
    verifiedCredential: Promise<VerifiedCredential | undefined> | undefined
  }
}

/** Sessions, clients and API keys remembered at once, each. */
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
  /** What a client may do now; undefined when it is disabled or gone. */
  readClientAccess: (clientId: string) => Promise<ClientAccess | undefined>
  /** An API key that exists and has not expired, by the key itself. */
  readApiKey: (key: string) => Promise<ApiKeyAccess | undefined>
  /** Notes that a key was used (the domain throttles the write). */
  recordApiKeyUse: (keyId: string) => Promise<void>
  /** Subscribes to changes of users, sessions and clients; resolves to a function that stops. */
  watchAccessChanges: (listener: AccessChangeListener) => Promise<() => Promise<void>>
  now?: () => number
}

interface Remembered<Value extends object> {
  read (key: string, load: () => Promise<Value | undefined>): Promise<Value | undefined>
  forget (key: string): void
  forgetOwner (owner: string): void
  clear (): void
}

/** A read-through cache over `principalCache`, or none at all when the TTL is 0. */
function remembered<Value extends object> (ttlMs: number, ownerOf: (value: Value) => string, now: (() => number) | undefined): Remembered<Value> {
  if (ttlMs === 0) return { read: (_key, load) => load(), forget () {}, forgetOwner () {}, clear () {} }
  const cache = principalCache<Value>({ ttlMs, maxEntries: PRINCIPAL_CACHE_SIZE, ownerOf, ...(now === undefined ? {} : { now }) })
  return {
    async read (key, load) {
      const known = cache.get(key)
      if (known !== undefined) return known
      const readAt = cache.generation()
      const value = await load()
      if (value !== undefined) cache.set(key, value, readAt)
      return value
    },
    forget: (key) => cache.forget(key),
    forgetOwner: (owner) => cache.forgetOwner(owner),
    clear: () => cache.clear()
  }
}

function within (scopes: readonly Scope[], ceiling: readonly Scope[]): Scope[] {
  return scopes.filter((scope) => ceiling.includes(scope))
}

/**
 * Bearer credentials and the guards routes declare in their hooks: authenticate in
 * onRequest, so credentials are checked before the body is even read. A person's access
 * token (EdDSA or ES256 from a JWK Set, RFC 9068 `at+jwt`) counts while its session is
 * live and its user active, with the role the user has now; a client's token or API key
 * while the client is active, with its scopes as they are now. Who may do what with them
 * is the domain's to decide (src/access/rules.ts), whoever calls it.
 */
async function authPlugin (app: FastifyInstance, options: AuthPluginOptions): Promise<void> {
  const keys = await options.keys()
  const now = options.now ?? Date.now
  const tokens = accessTokens({ keys, issuer: options.issuer, audience: options.audience, ttlSeconds: options.ttlSeconds, now })
  app.decorate('publicJwks', { keys: keys.all.map((key) => key.publicJwk) })
  app.decorate('issuePersonToken', (grant: PersonGrant) => tokens.issuePerson(grant))
  app.decorate('issueClientToken', (grant: ClientGrant) => tokens.issueClient(grant))
  app.decorate('verifyAccessToken', (token: string) => tokens.verify(token))
  app.decorateRequest('principal', undefined)
  app.decorateRequest('client', undefined)
  app.decorateRequest('sessionId', undefined)
  app.decorateRequest('acr', undefined)
  app.decorateRequest('verifiedCredential', undefined)

  // What credentials grant is remembered only while this replica hears about changes: the
  // database announces every revoked session, every user whose role or status changed and
  // every client changed, and a replica that lost the channel forgets everything once it
  // listens again.
  const ttlMs = options.principalCacheTtlMs
  const sessions = remembered<SessionAccess>(ttlMs, (access) => access.userId, options.now)
  const clients = remembered<ClientAccess>(ttlMs, (access) => access.clientId, options.now)
  const apiKeys = remembered<ApiKeyAccess>(ttlMs, (access) => access.clientId, options.now)
  const clientChanged = (clientId: string): void => {
    clients.forgetOwner(clientId)
    apiKeys.forgetOwner(clientId)
  }
  app.decorate('accessChanges', {
    userChanged: (userId: string) => sessions.forgetOwner(userId),
    sessionEnded: (sessionId: string) => sessions.forget(sessionId),
    clientChanged
  })
  if (ttlMs !== 0) {
    const unlisten = await options.watchAccessChanges({
      onChange: ({ kind, id }) => (kind === 'user' ? sessions.forgetOwner(id) : kind === 'session' ? sessions.forget(id) : clientChanged(id)),
      onReset: () => {
        sessions.clear()
        clients.clear()
        apiKeys.clear()
      }
    })
    app.addHook('onClose', unlisten)
  }

  async function verify (token: string): Promise<VerifiedCredential | undefined> {
    if (!token.startsWith(API_KEY_PREFIX)) return tokens.verify(token)
    const key = await apiKeys.read(token, () => options.readApiKey(token))
    // Remembered keys expire here too: the cache may hold one past its expires_at.
    return key === undefined || (key.expiresAt !== null && key.expiresAt.getTime() <= now()) ? undefined : { kind: 'api-key', key }
  }

  function verified (request: FastifyRequest): Promise<VerifiedCredential | undefined> {
    if (request.verifiedCredential === undefined) {
      const token = BEARER.exec(request.headers.authorization ?? '')?.[1]
      request.verifiedCredential = token === undefined ? Promise.resolve(undefined) : verify(token)
    }
    return request.verifiedCredential
  }

  app.decorate('callerKey', async (request: FastifyRequest) => {
    const credential = await verified(request)
    if (credential === undefined) return undefined
    if (credential.kind === 'api-key') return `client:${credential.key.clientId}`
    return `${credential.kind === 'person' ? 'user' : 'client'}:${credential.sub}`
  })

  /** The client's scopes now, capped by what the credential was given; undefined when the client is disabled or gone. */
  async function clientScopes (clientId: string, granted: readonly Scope[]): Promise<Scope[] | undefined> {
    const access = await clients.read(clientId, () => options.readClientAccess(clientId))
    return access === undefined ? undefined : within(granted, access.scopes)
  }

  async function livePerson (claims: Extract<AccessClaims, { kind: 'person' }>): Promise<SessionAccess | undefined> {
    const access = await sessions.read(claims.sid, () => options.readSessionAccess(claims.sid))
    return access?.userId === claims.sub ? access : undefined
  }

  app.decorate('liveCredential', async (token: string): Promise<LiveCredential | undefined> => {
    const credential = await verify(token)
    if (credential === undefined) return undefined
    if (credential.kind === 'person') {
      const access = await livePerson(credential)
      return access === undefined ? undefined : { credential, role: access.role }
    }
    const [clientId, granted] = credential.kind === 'client' ? [credential.sub, credential.scopes] : [credential.key.clientId, credential.key.scopes]
    const scopes = await clientScopes(clientId, granted)
    return scopes === undefined ? undefined : { credential, scopes }
  })

  async function establish (request: FastifyRequest): Promise<void> {
    const credential = await verified(request)
    if (credential === undefined) throw invalidTokenProblem('The bearer credential is malformed, expired, unknown or not signed by this service.')
    if (credential.kind === 'person') {
      const access = await livePerson(credential)
      if (access === undefined) throw invalidTokenProblem('The session of this access token has ended.')
      request.sessionId = credential.sid
      request.acr = credential.acr === 'aal2' ? 'aal2' : 'aal1'
      request.principal = { id: credential.sub, role: access.role }
      return
    }
    const clientId = credential.kind === 'client' ? credential.sub : credential.key.clientId
    const scopes = await clientScopes(clientId, credential.kind === 'client' ? credential.scopes : credential.key.scopes)
    if (scopes === undefined) throw invalidTokenProblem('The client of this credential is disabled or deleted.')
    if (credential.kind === 'api-key') {
      request.client = { id: clientId, scopes, keyId: credential.key.keyId }
      // Not worth failing or delaying the request for: the write is throttled and best effort.
      options.recordApiKeyUse(credential.key.keyId).catch((error: unknown) => request.log.warn({ err: error }, 'could not record an API key\'s use'))
    } else {
      request.client = { id: clientId, scopes }
    }
  }

  app.decorate('identify', async (request: FastifyRequest) => {
    if (request.headers.authorization !== undefined) await establish(request)
  })

  app.decorate('authenticate', async (request: FastifyRequest) => {
    if (request.headers.authorization === undefined) throw missingCredentialsProblem('This operation needs a bearer token (POST /v1/auth/token) or an API key.')
    await establish(request)
  })
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['problems'] })
