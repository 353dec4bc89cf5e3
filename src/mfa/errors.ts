import { DomainError } from '../common/errors.ts'
import type { SecondFactorKind } from './factor-kinds.ts'

/**
 * The password was right, and the account has a second factor: no session yet. The
 * `mfaToken` (its only time in clear) lets the caller finish the login at POST /v1/auth/mfa.
 */
export class MfaRequiredError extends DomainError {
  override name = 'MfaRequiredError'
  readonly mfaToken: string
  readonly factors: SecondFactorKind[]
  constructor (mfaToken: string, factors: SecondFactorKind[]) {
    super('The password is right; finish the login with a second factor at POST /v1/auth/mfa.')
    this.mfaToken = mfaToken
    this.factors = factors
  }
}

/** A TOTP code, recovery code or WebAuthn response that does not prove the factor (or a challenge unknown, used or stale). */
export class InvalidCodeError extends DomainError {
  override name = 'InvalidCodeError'
}

/** A second step that cannot finish a login: a wrong code, or an `mfa_token` unknown, used or expired. */
export class SecondFactorRefusedError extends DomainError {
  override name = 'SecondFactorRefusedError'
}

export class FactorNotFoundError extends DomainError {
  override name = 'FactorNotFoundError'
  constructor (factorId: string) {
    super(`No factor with id ${factorId}.`)
  }
}
