import type { Scope } from '../clients/scopes.ts'
import type { AccessClaims, PersonClaims } from '../identity/access-tokens.ts'
import type { Role } from '../users/roles.ts'
import type { ApiKeyAccess } from './principal-cache.ts'

/** What a bearer credential is, once verified: a token this service signed, or an API key that exists. */
export type VerifiedCredential = AccessClaims | { kind: 'api-key', key: ApiKeyAccess }

/** A credential that would be accepted now, with what it grants now: a person's current role, a client's current scopes. */
export type LiveCredential =
  | { credential: PersonClaims, role: Role }
  | { credential: Exclude<VerifiedCredential, PersonClaims>, scopes: Scope[] }

/** A machine client acting, by its token or one of its API keys, with the scopes it holds now. */
export interface ClientPrincipal {
  id: string
  scopes: Scope[]
  /** The API key it sent, when it sent one. */
  keyId?: string
}
