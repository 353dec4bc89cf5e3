import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AuthorizationServerMetadata, Jwks } from '../schemas/auth.ts'
import { jsonResponse } from '../schemas/headers.ts'
import Type from 'typebox'

// Verifiers cache the key set; a rotation publishes the new key well before it signs
// (JWT_TTL_SECONDS at least), so five minutes of staleness is harmless.
const JWKS_MAX_AGE_SECONDS = 300
const cacheControl = { 'Cache-Control': Type.String({ description: `\`public, max-age=${JWKS_MAX_AGE_SECONDS}\`` }) }

export interface WellKnownOptions {
  issuer: string
  /** The service's public origin for absolute URLs; the request's own origin when undefined. */
  publicUrl: string | undefined
}

/** What other services and OAuth clients discover: the verification keys and the endpoints. */
const wellKnownRoutes: FastifyPluginAsyncTypebox<WellKnownOptions> = async function wellKnownRoutes (app, { issuer, publicUrl }) {
  const discovery = { tags: ['discovery'], security: [] }

  app.get('/.well-known/jwks.json', {
    schema: {
      ...discovery,
      operationId: 'getJwks',
      summary: 'The public keys that verify access tokens',
      description: 'Any service verifies this service\'s access tokens offline with these keys: check `alg` among the keys\' algorithms, pick the key by `kid`, and check `typ: at+jwt`, `iss`, `aud` and `exp`.',
      response: { 200: jsonResponse(Jwks, 'The JWK Set', cacheControl) }
    }
  }, async (_request, reply) => {
    reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
    return app.publicJwks
  })

  app.get('/.well-known/oauth-authorization-server', {
    schema: {
      ...discovery,
      operationId: 'getAuthorizationServerMetadata',
      summary: 'RFC 8414 metadata: the issuer and its endpoints',
      description: 'Absolute URLs on `PUBLIC_URL` when it is set, else on the origin the request was made to.',
      response: { 200: jsonResponse(AuthorizationServerMetadata, 'The metadata', cacheControl) }
    }
  }, async (request, reply) => {
    const origin = publicUrl ?? `${request.protocol}://${request.host}`
    reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
    return {
      issuer,
      token_endpoint: `${origin}/v1/auth/token`,
      jwks_uri: `${origin}/.well-known/jwks.json`,
      revocation_endpoint: `${origin}/v1/auth/revoke`,
      grant_types_supported: ['password', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      response_types_supported: []
    }
  })
}

export default wellKnownRoutes
