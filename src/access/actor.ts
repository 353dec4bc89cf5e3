import type { ChangeContext } from '../events/outbox.ts'
import type { Role } from '../users/roles.ts'

/**
 * Who asks the domain to do something, and in which request. Every operation that
 * reads or changes users takes one and decides from it what is allowed, so the REST
 * routes, the CLI and every later caller get the same rules.
 */
export type Actor =
  /** A person with a live session; `role` is their role now, not the one a token once named. */
  | { kind: 'user', id: string, role: Role, sessionId: string | undefined, requestId: string | undefined }
  /** The service itself or its operator (start-up, the CLI, housekeeping): may do what an admin may. */
  | { kind: 'system', requestId: string | undefined }
  /** A caller without credentials, acting at most on an account it proves to hold (a mailed token). */
  | { kind: 'anonymous', requestId: string | undefined }

/** A user and the role they have now: what a login proves and a session grants. */
export interface Principal {
  id: string
  role: Role
}

export type UserActor = Extract<Actor, { kind: 'user' }>

export const SYSTEM: Actor = { kind: 'system', requestId: undefined }

export function userActor (user: Principal, sessionId?: string, requestId?: string): UserActor {
  return { kind: 'user', id: user.id, role: user.role, sessionId, requestId }
}

/** What the events of a change record of who made it. */
export function changeContextOf (actor: Actor): ChangeContext {
  switch (actor.kind) {
    case 'user': return { actor: actor.id, requestId: actor.requestId }
    case 'system': return { actor: 'system', requestId: actor.requestId }
    case 'anonymous': return { actor: undefined, requestId: actor.requestId }
  }
}
