import { DomainError } from '../common/errors.ts'

export class ClientNotFoundError extends DomainError {
  override name = 'ClientNotFoundError'
  constructor (clientId: string) {
    super(`No client with id ${clientId}.`)
  }
}

/** A secret or API key that is not (any more) one of this client's. */
export class CredentialNotFoundError extends DomainError {
  override name = 'CredentialNotFoundError'
}

export class ClientNameTakenError extends DomainError {
  override name = 'ClientNameTakenError'
  constructor () {
    super('A client with this name already exists.')
  }
}

/** A private_key_jwt client proves itself with its keys: it has no secrets to rotate. */
export class ClientWithoutSecretsError extends DomainError {
  override name = 'ClientWithoutSecretsError'
  constructor () {
    super('This client authenticates with private_key_jwt and has no secrets; change its jwks instead.')
  }
}

/**
 * Client authentication failed (RFC 6749 §5.2 `invalid_client`): an unknown, disabled
 * or deleted client, a wrong secret, an assertion that does not verify, or a method
 * other than the client's own. The message never says which, so it helps no guesser.
 */
export class InvalidClientError extends DomainError {
  override name = 'InvalidClientError'
  /** Whether the client tried HTTP Basic: the answer then challenges for it. */
  readonly triedBasic: boolean
  constructor (triedBasic: boolean, detail = 'Client authentication failed.') {
    super(detail)
    this.triedBasic = triedBasic
  }
}

/** A scope asked for that the client does not hold (RFC 6749 §5.2 `invalid_scope`). */
export class InvalidScopeError extends DomainError {
  override name = 'InvalidScopeError'
}
