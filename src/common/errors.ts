/**
 * What the domain modules throw when a request cannot be carried out. They say
 * nothing about HTTP: the problems plugin decides what each one means on the wire.
 */
export class DomainError extends Error {
  override name = 'DomainError'
}

export class EmailTakenError extends DomainError {
  override name = 'EmailTakenError'
  constructor () {
    super('A user with this email already exists.')
  }
}

/** Another user already carries this identity provider id (SCIM externalId). */
export class ExternalIdTakenError extends DomainError {
  override name = 'ExternalIdTakenError'
  constructor () {
    super('A user with this externalId already exists.')
  }
}

export class UserNotFoundError extends DomainError {
  override name = 'UserNotFoundError'
  readonly userId: string
  constructor (userId: string) {
    super(`No user with id ${userId}.`)
    this.userId = userId
  }
}

/** A conditional write expected a version the resource no longer has. */
export class VersionMismatchError extends DomainError {
  override name = 'VersionMismatchError'
  constructor (what = 'user') {
    super(`The ${what} has changed since you read it: If-Match does not match the current ETag.`)
  }
}

/** The caller is known, but the rules do not let them do this. */
export class NotAllowedError extends DomainError {
  override name = 'NotAllowedError'
}

/** A machine client acting without the scope an operation needs (RFC 6750 §3.1). */
export class InsufficientScopeError extends DomainError {
  override name = 'InsufficientScopeError'
  readonly scope: string
  constructor (scope: string) {
    super(`This needs the scope ${scope}, which these credentials do not hold.`)
    this.scope = scope
  }
}

/** A value the rules refuse, though it fits the schema: named by its JSON Pointer in the request. */
export class InvalidFieldError extends DomainError {
  override name = 'InvalidFieldError'
  readonly pointer: string
  constructor (pointer: string, detail: string) {
    super(detail)
    this.pointer = pointer
  }
}

/** The user a caller's credentials name does not exist (any more). */
export class UnknownPrincipalError extends DomainError {
  override name = 'UnknownPrincipalError'
  constructor () {
    super('The user of these credentials no longer exists.')
  }
}

/** A refresh token that is unknown, used, expired, or of an ended session. */
export class InvalidRefreshTokenError extends DomainError {
  override name = 'InvalidRefreshTokenError'
  constructor () {
    super('The refresh token is invalid, used, expired or revoked.')
  }
}

/** The credentials a login checked stopped being the user's before its session was written (a change, a reset, a deletion). */
export class CredentialsChangedError extends DomainError {
  override name = 'CredentialsChangedError'
  constructor () {
    super('The email or password is wrong.')
  }
}

/** An address got as many mails of this kind as it may in an hour. */
export class MailLimitReachedError extends DomainError {
  override name = 'MailLimitReachedError'
  readonly retryAfterSeconds: number
  constructor (retryAfterSeconds: number) {
    super('This address was sent as many verification mails as it may get in an hour; try again later.')
    this.retryAfterSeconds = retryAfterSeconds
  }
}

export class SessionNotFoundError extends DomainError {
  override name = 'SessionNotFoundError'
  readonly sessionId: string
  constructor (sessionId: string) {
    super(`No live session with id ${sessionId}.`)
    this.sessionId = sessionId
  }
}

/** A correct password of a disabled user: the only case that tells a caller the account exists. */
export class AccountDisabledError extends DomainError {
  override name = 'AccountDisabledError'
  constructor () {
    super('This account is disabled.')
  }
}

/** Too much password hashing is waiting already: come back shortly. */
export class CapacityExceededError extends DomainError {
  override name = 'CapacityExceededError'
  constructor () {
    super('Too many password operations are waiting; retry shortly.')
  }
}

/** A new password that is on the list of common and breached ones, or only white space. */
export class WeakPasswordError extends InvalidFieldError {
  override name = 'WeakPasswordError'
  constructor (detail: string) {
    super('/password', detail)
  }
}

/** Too many consecutive failed logins for this email: no attempt counts until the delay ends. */
export class LoginDelayedError extends DomainError {
  override name = 'LoginDelayedError'
  readonly retryAfterSeconds: number
  constructor (retryAfterSeconds: number) {
    super(`Too many failed logins for this email; try again in ${retryAfterSeconds} s.`)
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** The change would leave nobody able to administer the service. */
export class LastActiveAdminError extends DomainError {
  override name = 'LastActiveAdminError'
  constructor () {
    super('This is the last active admin: promote or enable another admin first.')
  }
}

/** A mailed token that is unknown, used, expired, or for an address the user no longer has. */
export class InvalidAccountTokenError extends DomainError {
  override name = 'InvalidAccountTokenError'
  constructor () {
    super('The token is invalid, used or expired, or the email it was sent to has changed.')
  }
}

/** This deployment has no way to send mail (production without SMTP_URL). */
export class MailUnavailableError extends DomainError {
  override name = 'MailUnavailableError'
  constructor () {
    super('This service cannot send mail: it has no SMTP server configured.')
  }
}

/**
 * The person's token is not strong enough for this (RFC 9470): their role's powers need a
 * second factor (`reason` role), or the step is one they must take with one themself.
 */
export class StepUpRequiredError extends DomainError {
  override name = 'StepUpRequiredError'
  readonly reason: 'role' | 'self'
  constructor (reason: 'role' | 'self') {
    super(reason === 'role'
      ? 'Your role needs a login with a second factor (acr aal2) for this; log in again with one.'
      : 'This step needs a login with a second factor (acr aal2); log in again with one.')
    this.reason = reason
  }
}
