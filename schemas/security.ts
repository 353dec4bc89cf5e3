import { SCOPES, type Scope } from '../src/clients/scopes.ts'

/**
 * What protected operations accept: a person's bearer access token, obtained directly or
 * through the OAuth 2 password flow (which Swagger UI's Authorize dialog offers).
 */
export const bearer: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { oauth2: [] }]

/**
 * A person's token, or a machine client's token or API key holding `scope`: what the
 * domain allows a client, declared so that the scope matrix test can hold the two equal.
 */
export function bearerOrClient (scope: Scope): Array<Record<string, string[]>> {
  return [...bearer, { clientCredentials: [scope] }]
}

/** Only a machine client's token or API key holding `scope` (SCIM): no person's token. */
export function clientOnly (scope: Scope): Array<Record<string, string[]>> {
  return [{ bearerAuth: [] }, { clientCredentials: [scope] }]
}

const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  'users:read': 'Read users and their sessions',
  'users:write': 'Create, change and delete users (roles, statuses, passwords too), end their sessions',
  'users:import': 'Import and export users',
  'events:read': 'Follow the change feed',
  scim: 'SCIM provisioning',
  'tokens:introspect': 'Introspect tokens and API keys (RFC 7662)'
}

export const securitySchemes = {
  bearerAuth: { type: 'http' as const, scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /v1/auth/token, or a machine client\'s API key (`usk_…`).' },
  oauth2: {
    type: 'oauth2' as const,
    description: 'Email (as username) and password, exchanged at the token endpoint (RFC 6749 password grant).',
    flows: { password: { tokenUrl: '/v1/auth/token', refreshUrl: '/v1/auth/token', scopes: {} } }
  },
  clientCredentials: {
    type: 'oauth2' as const,
    description: 'A machine client\'s id and secret, exchanged at the token endpoint (RFC 6749 client credentials grant) for a token with the scopes asked for.',
    flows: { clientCredentials: { tokenUrl: '/v1/auth/token', scopes: Object.fromEntries(SCOPES.map((scope) => [scope, SCOPE_DESCRIPTIONS[scope]])) } }
  }
}
