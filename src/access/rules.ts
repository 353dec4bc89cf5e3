import { InsufficientScopeError, NotAllowedError, StepUpRequiredError } from '../common/errors.ts'
import type { Scope } from '../clients/scopes.ts'
import type { Role, Status } from '../users/roles.ts'
import type { Actor } from './actor.ts'

/**
 * The rules of who may do what, in one place; the domain's operations apply them. A
 * person is governed by their role, a machine client by its scopes: where an admin may
 * act, a client may act with the scope that names the operation, and nowhere else.
 */
export function isAdmin (actor: Actor): boolean {
  return actor.kind === 'system' || (actor.kind === 'user' && actor.role === 'admin' && !awaitsStepUp(actor))
}

/** A person whose role needs a second factor (MFA_REQUIRED_ROLES) and whose session has none: the role's powers wait. */
function awaitsStepUp (actor: Actor): boolean {
  return actor.kind === 'user' && actor.acr !== 'aal2' && actor.mfaRequiredRoles.includes(actor.role)
}

/** Refuses what the actor may not do: an admin who only lacks the second factor is told to step up (401), anyone else no (403). */
function refuse (actor: Actor, message: string): never {
  if (actor.kind === 'user' && actor.role === 'admin' && awaitsStepUp(actor)) throw new StepUpRequiredError('role')
  throw new NotAllowedError(message)
}

/** The actor is this user themself (a person acting on their own account). */
export function isSelf (actor: Actor, userId: string): boolean {
  return actor.kind === 'user' && actor.id === userId
}

/** An admin, the service itself, or a client holding `scope`. */
export function isPrivileged (actor: Actor, scope: Scope): boolean {
  return actor.kind === 'client' ? actor.scopes.includes(scope) : isAdmin(actor)
}

/** What an admin may do, a client may do with `scope`; a client without it is told which scope it lacks. */
export function assertPrivileged (actor: Actor, scope: Scope): void {
  if (actor.kind === 'client' && !actor.scopes.includes(scope)) throw new InsufficientScopeError(scope)
  if (!isPrivileged(actor, scope)) refuse(actor, 'Only admins may do this.')
}

export function assertSelfOrPrivileged (actor: Actor, userId: string, scope: Scope): void {
  if (isSelf(actor, userId)) return
  if (actor.kind === 'client') assertPrivileged(actor, scope)
  else if (!isAdmin(actor)) refuse(actor, 'Only the user themself or an admin may do this.')
}

/** Operations of a person's own (their account, their factors) are not a machine's to do. */
export function assertNotClient (actor: Actor): void {
  if (actor.kind === 'client') throw new NotAllowedError('Machine clients may not do this; it is for people only.')
}

/** Managing machine clients is for admins and the operator only: no client manages clients, whatever its scopes. */
export function assertAdminPerson (actor: Actor): void {
  assertNotClient(actor)
  if (!isAdmin(actor)) refuse(actor, 'Only admins may manage machine clients.')
}

/** Only admins (or clients with the write scope: users:write, or scim through SCIM) set roles; asking for the role the user already has changes nothing, so anyone may. */
export function assertMaySetRole (actor: Actor, currentRole: Role, requested: Role | undefined, scope: Scope = 'users:write'): void {
  if (requested !== undefined && requested !== currentRole && !isPrivileged(actor, scope)) {
    refuse(actor, 'Only admins may set a role.')
  }
}

/** Only admins (or clients with the write scope) enable or disable users; asking for the current status changes nothing. */
export function assertMaySetStatus (actor: Actor, currentStatus: Status, requested: Status | undefined, scope: Scope = 'users:write'): void {
  if (requested !== undefined && requested !== currentStatus && !isPrivileged(actor, scope)) {
    refuse(actor, 'Only admins may set a status.')
  }
}

/** Enrolling a factor is the person's own act: nobody, no admin either, enrols one for someone else. */
export function assertSelfPerson (actor: Actor, userId: string): void {
  if (!isSelf(actor, userId)) throw new NotAllowedError('Only the user themself may do this.')
}

/** Steps that weaken or renew a person's second factors: themself with a second factor (aal2). */
export function assertSelfWithSecondFactor (actor: Actor, userId: string): void {
  assertSelfPerson(actor, userId)
  if (actor.kind === 'user' && actor.acr !== 'aal2') throw new StepUpRequiredError('self')
}

/** Removing a factor: the user themself with aal2, or an admin (or a client with `users:write`) for a user who lost a device. */
export function assertMayRemoveFactor (actor: Actor, userId: string): void {
  if (isSelf(actor, userId)) assertSelfWithSecondFactor(actor, userId)
  else assertSelfOrPrivileged(actor, userId, 'users:write')
}

/** SCIM is how identity providers provision: a machine client holding `scim`, nobody else. */
export function assertProvisioner (actor: Actor): void {
  if (actor.kind !== 'client') throw new NotAllowedError('SCIM is for machine clients holding the scim scope.')
  assertPrivileged(actor, 'scim')
}
