import type { LiveCredential } from '../access/credential.ts'

export interface IntrospectionContext {
  issuer: string
  audience: string
}

/** RFC 7662 §2.2's members, as this service fills them. */
export interface Introspection {
  active: boolean
  token_type?: 'Bearer'
  sub?: string
  client_id?: string
  scope?: string
  exp?: number
  iat?: number
  iss?: string
  aud?: string
  jti?: string
  sid?: string
  role?: 'user' | 'admin'
  amr?: string[]
  acr?: string
  auth_time?: number
}

const seconds = (time: Date): number => Math.floor(time.getTime() / 1000)

/** RFC 7662 §2.2: what a live credential is, or `{active: false}` for anything that would be refused now. */
export function introspectionOf (live: LiveCredential | undefined, { issuer, audience }: IntrospectionContext): Introspection {
  if (live === undefined) return { active: false }
  const common = { active: true, token_type: 'Bearer' as const, iss: issuer, aud: audience }
  if ('role' in live) {
    const { sub, exp, iat, jti, sid, amr, acr, authTime } = live.credential
    return { ...common, sub, exp, iat, jti, sid, role: live.role, amr, acr, ...(authTime === undefined ? {} : { auth_time: authTime }) }
  }
  const scope = live.scopes.join(' ')
  const credential = live.credential
  if (credential.kind === 'api-key') {
    const { clientId, keyId, createdAt, expiresAt } = credential.key
    return { ...common, sub: clientId, client_id: clientId, scope, jti: keyId, iat: seconds(createdAt), ...(expiresAt === null ? {} : { exp: seconds(expiresAt) }) }
  }
  const { sub, exp, iat, jti } = credential
  return { ...common, sub, client_id: sub, scope, exp, iat, jti }
}
