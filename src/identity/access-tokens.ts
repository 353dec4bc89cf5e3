import { randomUUID } from 'node:crypto'
import { createLocalJWKSet, jwtVerify, SignJWT, type JWTPayload } from 'jose'
import { LRUCache } from 'lru-cache'
import { isScope, type Scope } from '../clients/scopes.ts'
import type { Role } from '../users/roles.ts'
import { ALGORITHMS, type SigningKeySet } from './signing-keys.ts'

/** RFC 9068: the `typ` of an access token, so an ID token or another JWT cannot pass for one. */
const ACCESS_TOKEN_TYPE = 'at+jwt'

interface CommonClaims {
  /** The user, or the client. */
  sub: string
  jti: string
  /** Seconds since the epoch. */
  iat: number
  exp: number
}

/** A person's token: of a session, governed by the role its user has now. */
export interface PersonClaims extends CommonClaims {
  kind: 'person'
  sid: string
  role: Role
  /** How the person proved themself (RFC 8176), the assurance level that makes, and when (seconds since the epoch). */
  amr: string[]
  acr: string
  authTime: number | undefined
}

/** A machine client's token (client credentials grant): `sub` = `client_id`, governed by its scopes. */
export interface ClientClaims extends CommonClaims {
  kind: 'client'
  scopes: Scope[]
}

export type AccessClaims = PersonClaims | ClientClaims

export interface PersonGrant {
  userId: string
  sessionId: string
  role: Role
  amr?: string[]
  acr?: string
  /** Seconds since the epoch. */
  authTime?: number
}

export interface ClientGrant {
  clientId: string
  scopes: Scope[]
}

export interface AccessTokenOptions {
  keys: SigningKeySet
  issuer: string
  audience: string
  ttlSeconds: number
  /** Distinct tokens whose verdict is remembered; 0 remembers none. */
  cacheSize?: number
  now?: () => number
}

export interface AccessTokens {
  issuePerson (grant: PersonGrant): Promise<string>
  issueClient (grant: ClientGrant): Promise<string>
  /** The claims of a token this service signed and that is still valid; undefined for any other. */
  verify (token: string): Promise<AccessClaims | undefined>
}

function stringArray (value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined
}

// Users, sessions and clients are named by UUIDs: a claim of another shape names nobody, and must never reach a query.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function isUuid (value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}

/** A person's token names a session and a role; a client's names itself as `client_id` and its scopes. */
function claimsOf (payload: JWTPayload): AccessClaims | undefined {
  const { sub, jti, iat, exp } = payload
  if (!isUuid(sub) || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') return undefined
  const common = { sub, jti, iat, exp }
  if (isUuid(payload.sid) && (payload.role === 'user' || payload.role === 'admin')) {
    return {
      ...common,
      kind: 'person',
      sid: payload.sid,
      role: payload.role,
      amr: stringArray(payload.amr) ?? ['pwd'],
      acr: typeof payload.acr === 'string' ? payload.acr : 'aal1',
      authTime: typeof payload.auth_time === 'number' ? payload.auth_time : undefined
    }
  }
  if (payload.sid === undefined && payload.client_id === sub && typeof payload.scope === 'string') {
    return { ...common, kind: 'client', scopes: payload.scope.split(' ').filter(isScope) }
  }
  return undefined
}

/**
 * Signs access tokens with the first key of the set and verifies them against all of
 * its public halves, as any other service would from /.well-known/jwks.json: only the
 * set's algorithms, the key chosen by `kid` among the set (never from a `jku`, `x5u`
 * or `jwk` header), `typ`, `iss`, `aud` and `exp` checked. A client sends the same
 * token many times, so a valid verdict is remembered until the token expires.
 */
export function accessTokens ({ keys, issuer, audience, ttlSeconds, cacheSize = 10_000, now = Date.now }: AccessTokenOptions): AccessTokens {
  const publicKeys = createLocalJWKSet({ keys: keys.all.map((key) => key.publicJwk) })
  const algorithms = [...new Set(keys.all.map((key) => key.alg))].filter((alg) => ALGORITHMS.includes(alg))
  const verdicts = cacheSize === 0 ? undefined : new LRUCache<string, AccessClaims>({ max: cacheSize, ttlResolution: 0, perf: { now } })

  function sign (claims: JWTPayload, subject: string): Promise<string> {
    const { kid, alg, privateKey } = keys.signing
    const issuedAt = Math.floor(now() / 1000)
    return new SignJWT(claims)
      .setProtectedHeader({ alg, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(subject)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ttlSeconds)
      .sign(privateKey)
  }

  return {
    issuePerson: ({ userId, sessionId, role, amr = ['pwd'], acr = 'aal1', authTime }) => sign({ sid: sessionId, role, amr, acr, ...(authTime === undefined ? {} : { auth_time: authTime }) }, userId),
    issueClient: ({ clientId, scopes }) => sign({ client_id: clientId, scope: scopes.join(' ') }, clientId),

    async verify (token) {
      const remembered = verdicts?.get(token)
      if (remembered !== undefined) return remembered
      try {
        const { payload } = await jwtVerify(token, publicKeys, {
          algorithms,
          issuer,
          audience,
          typ: ACCESS_TOKEN_TYPE,
          requiredClaims: ['sub', 'jti', 'iat', 'exp'],
          currentDate: new Date(now())
        })
        const claims = claimsOf(payload)
        if (claims === undefined) return undefined
        verdicts?.set(token, claims, { ttl: claims.exp * 1000 - now() })
        return claims
      } catch {
        return undefined
      }
    }
  }
}
