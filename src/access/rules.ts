import { NotAllowedError } from '../shared/errors.js'
import type { Role, Status } from '../users/roles.js'

/** Who is calling: a user id and the role that user has now (not the one a token once named). */
export interface Principal {
  id: string
  role: Role
}

/** The rules of who may do what to users, in one place. */
export function assertAdmin (caller: Principal | undefined): void {
  if (caller?.role !== 'admin') throw new NotAllowedError('Only admins may do this.')
}

export function assertSelfOrAdmin (caller: Principal | undefined, userId: string): void {
  if (caller?.role !== 'admin' && caller?.id !== userId) throw new NotAllowedError('Only the user themself or an admin may do this.')
}

/** Only admins set roles; asking for the role the user already has changes nothing, so anyone may. */
export function assertMaySetRole (caller: Principal | undefined, currentRole: Role, requested: Role | undefined): void {
  if (requested !== undefined && requested !== currentRole && caller?.role !== 'admin') {
    throw new NotAllowedError('Only admins may set a role.')
  }
}

/** Only admins enable or disable users; asking for the status the user already has changes nothing. */
export function assertMaySetStatus (caller: Principal | undefined, currentStatus: Status, requested: Status | undefined): void {
  if (requested !== undefined && requested !== currentStatus && caller?.role !== 'admin') {
    throw new NotAllowedError('Only admins may set a status.')
  }
}
