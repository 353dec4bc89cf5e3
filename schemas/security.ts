/**
 * What protected operations accept: a bearer access token, obtained directly or through
 * the OAuth 2 password flow (which Swagger UI's Authorize dialog offers).
 */
export const bearer: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { oauth2: [] }]

export const securitySchemes = {
  bearerAuth: { type: 'http' as const, scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /v1/auth/token' },
  oauth2: {
    type: 'oauth2' as const,
    description: 'Email (as username) and password, exchanged at the token endpoint (RFC 6749 password grant).',
    flows: { password: { tokenUrl: '/v1/auth/token', refreshUrl: '/v1/auth/token', scopes: {} } }
  }
}
