import type { Scope } from '../clients/scopes.ts'
import type { ChangeContext } from '../events/outbox.ts'
import type { Role } from '../users/roles.ts'

/**
 * Who asks the domain to do something, and in which request. Every operation that
 * reads or changes users takes one and decides from it what is allowed, so the REST
 * routes, the CLI and every later caller get the same rules.
 */
export type Actor =
  /**
   * A person with a live session; `role` is their role now, not the one a token once named.
   * `acr` is how strongly their session was authenticated; the roles in `mfaRequiredRoles`
   * (MFA_REQUIRED_ROLES) use their powers only with aal2.
   */
  | { kind: 'user', id: string, role: Role, sessionId: string | undefined, requestId: string | undefined, acr: Assurance, mfaRequiredRoles: readonly Role[] }
  /** A machine client, by an access token or an API key: it may do what its scopes allow, nothing else. */
  | { kind: 'client', id: string, scopes: readonly Scope[], requestId: string | undefined }
  /** The service itself or its operator (start-up, the CLI, housekeeping): may do what an admin may. */
  | { kind: 'system', requestId: string | undefined }
  /** A caller without credentials, acting at most on an account it proves to hold (a mailed token). */
  | { kind: 'anonymous', requestId: string | undefined }

/** NIST SP 800-63B assurance levels: aal2 with a second factor or a user-verified passkey. */
export type Assurance = 'aal1' | 'aal2'

/** How a person's session was authenticated, and what the deployment asks of their role. */
export interface AuthenticationContext {
  acr: Assurance
  mfaRequiredRoles: readonly Role[]
}

const PASSWORD_ONLY: AuthenticationContext = { acr: 'aal1', mfaRequiredRoles: [] }

/** A user and the role they have now: what a login proves and a session grants. */
export interface Principal {
  id: string
  role: Role
}

export type UserActor = Extract<Actor, { kind: 'user' }>
export type ClientActor = Extract<Actor, { kind: 'client' }>

export const SYSTEM: Actor = { kind: 'system', requestId: undefined }

export function userActor (user: Principal, sessionId?: string, requestId?: string, authentication: AuthenticationContext = PASSWORD_ONLY): UserActor {
  return { kind: 'user', id: user.id, role: user.role, sessionId, requestId, acr: authentication.acr, mfaRequiredRoles: authentication.mfaRequiredRoles }
}

/** What the events of a change record of who made it. */
export function changeContextOf (actor: Actor): ChangeContext {
  switch (actor.kind) {
    case 'user': return { actor: actor.id, actorType: 'user', requestId: actor.requestId }
    case 'client': return { actor: actor.id, actorType: 'client', requestId: actor.requestId }
    case 'system': return { actor: 'system', actorType: 'system', requestId: actor.requestId }
    // Acting on their own account with a mailed token: the subject is the actor.
    case 'anonymous': return { actor: undefined, actorType: 'user', requestId: actor.requestId }
  }
}
