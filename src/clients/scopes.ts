/** The lists the database enums, the API schemas and the types of machine clients derive from. */

/**
 * What a client token or API key may do; a person's token is governed by the person's role.
 * A client never holds more than its own scopes, nor an API key more than its client's.
 */
export const SCOPES = ['users:read', 'users:write', 'users:import', 'events:read', 'scim', 'tokens:introspect'] as const

export type Scope = typeof SCOPES[number]

/** How a client proves itself at the token endpoint: only with its own registered method. */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const

export type ClientAuthMethod = typeof CLIENT_AUTH_METHODS[number]

/** A disabled client's tokens and keys are refused, and it gets no new ones. */
export const CLIENT_STATUSES = ['active', 'disabled'] as const

export type ClientStatus = typeof CLIENT_STATUSES[number]

export function isScope (value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value)
}
