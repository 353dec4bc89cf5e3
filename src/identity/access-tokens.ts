import { randomUUID } from 'node:crypto'
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose'
import { LRUCache } from 'lru-cache'
import type { Role } from '../users/roles.ts'
import { ALGORITHMS, type SigningKeySet } from './signing-keys.ts'

/** RFC 9068: the `typ` of an access token, so an ID token or another JWT cannot pass for one. */
const ACCESS_TOKEN_TYPE = 'at+jwt'

export interface AccessClaims {
  /** The user. */
  sub: string
  /** The session the token belongs to. */
  sid: string
  role: Role
  jti: string
  /** Seconds since the epoch. */
  exp: number
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
  issue (claims: { userId: string, sessionId: string, role: Role }): Promise<string>
  /** The claims of a token this service signed and that is still valid; undefined for any other. */
  verify (token: string): Promise<AccessClaims | undefined>
}

function isAccessClaims (payload: Record<string, unknown>): payload is Record<string, unknown> & AccessClaims {
  return typeof payload.sub === 'string' && typeof payload.sid === 'string' && typeof payload.jti === 'string' &&
    typeof payload.exp === 'number' && (payload.role === 'user' || payload.role === 'admin')
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

  return {
    async issue ({ userId, sessionId, role }) {
      const { kid, alg, privateKey } = keys.signing
      const issuedAt = Math.floor(now() / 1000)
      return new SignJWT({ sid: sessionId, role })
        .setProtectedHeader({ alg, kid, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(userId)
        .setJti(randomUUID())
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ttlSeconds)
        .sign(privateKey)
    },

    async verify (token) {
      const remembered = verdicts?.get(token)
      if (remembered !== undefined) return remembered
      try {
        const { payload } = await jwtVerify(token, publicKeys, {
          algorithms,
          issuer,
          audience,
          typ: ACCESS_TOKEN_TYPE,
          requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
          currentDate: new Date(now())
        })
        if (!isAccessClaims(payload)) return undefined
        const claims: AccessClaims = { sub: payload.sub, sid: payload.sid, role: payload.role, jti: payload.jti, exp: payload.exp }
        verdicts?.set(token, claims, { ttl: claims.exp * 1000 - now() })
        return claims
      } catch {
        return undefined
      }
    }
  }
}
