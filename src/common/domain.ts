import type { MfaSettings } from '../config.ts'
import type { Database } from '../db/connect.ts'
import type { LoginThrottlePolicy } from '../identity/login-throttle.ts'
import type { Passwords } from '../identity/passwords.ts'
import type { KeyRing } from '../secrets/key-ring.ts'

/**
 * What this replica remembers of who may do what (the principal cache), told of a change
 * the moment the domain commits it. Other replicas hear of it from the database; this
 * port spares this one the wait. Every operation that changes a role, a status or a
 * session calls it, so no caller can forget to.
 */
export interface AccessChanges {
  userChanged (userId: string): void
  sessionEnded (sessionId: string): void
  /** A client's status or scopes changed, one of its API keys was deleted, or the client is gone. */
  clientChanged (clientId: string): void
}

/** Remembers nothing, so has nothing to forget: for a process without a principal cache (the CLI). */
export const NOTHING_REMEMBERED: AccessChanges = { userChanged () {}, sessionEnded () {}, clientChanged () {} }

/**
 * What the domain's operations are handed: the database, the ports to what they must
 * tell, how passwords are hashed, and the failed-login delay every password guess counts
 * against (a login's, or a `current_password`'s).
 */
export interface Domain {
  db: Database
  access: AccessChanges
  passwords: Passwords
  loginThrottle: LoginThrottlePolicy
}

/**
 * What operations on credentials need besides: the key ring that seals secrets kept for
 * later use, the MFA settings, and the clock their expiries are measured by (injected, so
 * tests move it instead of sleeping).
 */
export interface CredentialsDomain extends Domain {
  secrets: KeyRing
  mfa: MfaSettings
  now: () => number
}
