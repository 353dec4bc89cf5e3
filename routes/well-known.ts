import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AuthorizationServerMetadata, Jwks } from '../schemas/auth.ts'
import { jsonResponse } from '../schemas/headers.ts'
import type { FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import { ASSERTION_ALGORITHMS } from '../src/clients/authentication.ts'
import { SCOPES } from '../src/clients/scopes.ts'

// Verifiers cache the key set; a rotation publishes the new key well before it signs
// (JWT_TTL_SECONDS at least), so five minutes of staleness is harmless.
const JWKS_MAX_AGE_SECONDS = 300
const cacheControl = { 'Cache-Control': Type.String({ description: `\`public, max-age=${JWKS_MAX_AGE_SECONDS}\`` }) }

export interface WellKnownOptions {
  issuer: string
  /** Where clients reach the service: absolute URLs are built on it, never on a request's Host. */
  origin: string
}

/** What other services and OAuth clients discover: the verification keys and the endpoints. */
const wellKnownRoutes: FastifyPluginAsyncTypebox<WellKnownOptions> = async function wellKnownRoutes (app, { issuer, origin }) {
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

  const metadataRoute = {
    schema: {
      ...discovery,
      summary: 'RFC 8414 metadata: the issuer and its endpoints',
      description: 'Absolute URLs on `PUBLIC_URL` (else the origin of a URL `JWT_ISSUER`; outside production, else `http://localhost:PORT`), never on the `Host` or `X-Forwarded-Host` a request names. When `JWT_ISSUER` is a URL with a path, the metadata is also where RFC 8414 §3.1 puts it for that issuer: `/.well-known/oauth-authorization-server` followed by the path.',
      response: { 200: jsonResponse(AuthorizationServerMetadata, 'The metadata', cacheControl) }
    }
  }
  const methods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt']
  const metadata = async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
    return {
      issuer,
      token_endpoint: `${origin}/v1/auth/token`,
      jwks_uri: `${origin}/.well-known/jwks.json`,
      revocation_endpoint: `${origin}/v1/auth/revoke`,
      introspection_endpoint: `${origin}/v1/auth/introspect`,
      grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_methods_supported: [...methods, 'none'],
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      revocation_endpoint_auth_methods_supported: [...methods, 'none'],
      introspection_endpoint_auth_methods_supported: methods,
      scopes_supported: [...SCOPES],
      response_types_supported: []
    }
  }
  app.get('/.well-known/oauth-authorization-server', { ...metadataRoute, schema: { ...metadataRoute.schema, operationId: 'getAuthorizationServerMetadata' } }, metadata)
  const issuerPath = issuerPathOf(issuer)
  if (issuerPath !== undefined) {
    app.get(`/.well-known/oauth-authorization-server${issuerPath}`, { ...metadataRoute, schema: { ...metadataRoute.schema, operationId: 'getIssuerAuthorizationServerMetadata', hide: true } }, metadata)
  }
}

/** The path of an issuer URL (RFC 8414 §3.1), when it has one besides `/`. */
function issuerPathOf (issuer: string): string | undefined {
  if (!/^https?:\/\//.test(issuer)) return undefined
  const path = new URL(issuer).pathname.replace(/\/$/, '')
  return path === '' ? undefined : path
}

export default wellKnownRoutes
