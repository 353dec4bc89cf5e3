import { NotAllowedError } from '../common/errors.ts'
import type { Role, Status } from '../users/roles.ts'
import type { Actor } from './actor.ts'

/** The rules of who may do what to users, in one place; the domain's operations apply them. */
export function isAdmin (actor: Actor): boolean {
  return actor.kind === 'system' || (actor.kind === 'user' && actor.role === 'admin')
}

/** The actor is this user themself (a person acting on their own account). */
export function isSelf (actor: Actor, userId: string): boolean {
  return actor.kind === 'user' && actor.id === userId
}

export function assertAdmin (actor: Actor): void {
  if (!isAdmin(actor)) throw new NotAllowedError('Only admins may do this.')
}

export function assertSelfOrAdmin (actor: Actor, userId: string): void {
  if (!isAdmin(actor) && !isSelf(actor, userId)) throw new NotAllowedError('Only the user themself or an admin may do this.')
}

/** Only admins set roles; asking for the role the user already has changes nothing, so anyone may. */
export function assertMaySetRole (actor: Actor, currentRole: Role, requested: Role | undefined): void {
  if (requested !== undefined && requested !== currentRole && !isAdmin(actor)) {
    throw new NotAllowedError('Only admins may set a role.')
  }
}

/** Only admins enable or disable users; asking for the status the user already has changes nothing. */
export function assertMaySetStatus (actor: Actor, currentStatus: Status, requested: Status | undefined): void {
  if (requested !== undefined && requested !== currentStatus && !isAdmin(actor)) {
    throw new NotAllowedError('Only admins may set a status.')
  }
}
