import { InsufficientScopeError, NotAllowedError } from '../common/errors.ts'
import type { Scope } from '../clients/scopes.ts'
import type { Role, Status } from '../users/roles.ts'
import type { Actor } from './actor.ts'

/**
 * The rules of who may do what, in one place; the domain's operations apply them. A
 * person is governed by their role, a machine client by its scopes: where an admin may
 * act, a client may act with the scope that names the operation, and nowhere else.
 */
export function isAdmin (actor: Actor): boolean {
  return actor.kind === 'system' || (actor.kind === 'user' && actor.role === 'admin')
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
  if (!isPrivileged(actor, scope)) throw new NotAllowedError('Only admins may do this.')
}

export function assertSelfOrPrivileged (actor: Actor, userId: string, scope: Scope): void {
  if (isSelf(actor, userId)) return
  if (actor.kind === 'client') assertPrivileged(actor, scope)
  else if (!isAdmin(actor)) throw new NotAllowedError('Only the user themself or an admin may do this.')
}

/** Operations of a person's own (their account, their factors) are not a machine's to do. */
export function assertNotClient (actor: Actor): void {
  if (actor.kind === 'client') throw new NotAllowedError('Machine clients may not do this; it is for people only.')
}

/** Managing machine clients is for admins and the operator only: no client manages clients, whatever its scopes. */
export function assertAdminPerson (actor: Actor): void {
  assertNotClient(actor)
  if (!isAdmin(actor)) throw new NotAllowedError('Only admins may manage machine clients.')
}

/** Only admins (or clients with users:write) set roles; asking for the role the user already has changes nothing, so anyone may. */
export function assertMaySetRole (actor: Actor, currentRole: Role, requested: Role | undefined): void {
  if (requested !== undefined && requested !== currentRole && !isPrivileged(actor, 'users:write')) {
    throw new NotAllowedError('Only admins may set a role.')
  }
}

/** Only admins (or clients with users:write) enable or disable users; asking for the current status changes nothing. */
export function assertMaySetStatus (actor: Actor, currentStatus: Status, requested: Status | undefined): void {
  if (requested !== undefined && requested !== currentStatus && !isPrivileged(actor, 'users:write')) {
    throw new NotAllowedError('Only admins may set a status.')
  }
}
