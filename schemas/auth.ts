import Type from 'typebox'
import { refTo } from './ref.ts'
import { Id } from './strings.ts'

const REFRESH_TOKEN = Type.String({ minLength: 1, maxLength: 512, writeOnly: true })

const clientAuthentication = {
  client_id: Type.Optional(Type.String({ maxLength: 255, description: 'With `client_secret` (`client_secret_post`). Alone, as a public client such as Swagger UI sends it, it is ignored.' })),
  client_secret: Type.Optional(Type.String({ maxLength: 255, writeOnly: true, description: '`client_secret_post`: the client\'s secret (empty: none, as a public client may send it).' })),
  client_assertion_type: Type.Optional(Type.String({ maxLength: 255, description: '`private_key_jwt`: `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.' })),
  client_assertion: Type.Optional(Type.String({ minLength: 1, maxLength: 8192, writeOnly: true, description: '`private_key_jwt`: a JWT signed by a key of the client\'s `jwks` (RFC 7523).' }))
}

// One flat object for every grant and both media types (JSON, and RFC 6749 forms as
// Swagger UI's Authorize dialog and OAuth libraries send them); the handler says which
// members a grant needs. grant_type is a plain string so that an unknown one gets
// RFC 6749's unsupported_grant_type, not a schema error.
export const TokenRequest = Type.Object({
  grant_type: Type.Optional(Type.String({ maxLength: 100, description: '`password` (the default), `refresh_token` or `client_credentials`.' })),
  email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Password grant: the account\'s email.' })),
  username: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Password grant, RFC 6749 name for `email`.' })),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 128, writeOnly: true, description: 'Password grant.' })),
  refresh_token: Type.Optional({ ...REFRESH_TOKEN, description: 'Refresh grant: the newest refresh token of the session; it is used up.' }),
  scope: Type.Optional(Type.String({ maxLength: 1000, description: 'Client credentials grant: the scopes wanted, space-separated, each one of the client\'s (all of them when absent). Ignored by the other grants: a person\'s token carries their role, not scopes.' })),
  ...clientAuthentication
}, {
  $id: 'TokenRequest',
  // RFC 6749 §3.2: an authorization server ignores the parameters it does not know.
  additionalProperties: true,
  description: 'Password grant: `{email, password}` (or RFC 6749 `grant_type=password&username=…&password=…`). Refresh grant: `{grant_type: "refresh_token", refresh_token}`. Client credentials grant: `grant_type=client_credentials` and the client\'s authentication (HTTP Basic, `client_id` + `client_secret`, or `client_assertion`).',
  examples: [{ email: 'ada@example.com', password: 'correct horse battery' }, { grant_type: 'refresh_token', refresh_token: 'q1Yd0qM2m1X8v2c6fQ9mW4mH4oTzq0iXy9p3c4e0Q7s' }, { grant_type: 'client_credentials', scope: 'users:read' }]
})

export const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'A JWT (EdDSA or ES256, `typ: at+jwt`) to send as `Authorization: Bearer <token>`; verifiable with /.well-known/jwks.json.' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
  refresh_token: Type.Optional(Type.String({ description: 'Opaque, single-use: exchange it for new tokens before the session ends. Using it twice ends the session. Not for the client credentials grant.' })),
  scope: Type.Optional(Type.String({ description: 'Client credentials grant: the scopes the token carries, space-separated.' }))
}, {
  $id: 'TokenResponse',
  additionalProperties: false,
  examples: [{
    access_token: 'eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiIwMTk2YjVhMC03YzFlLTdkNGEtOWYyYi0zYzRkNWU2ZjdhOGIifQ.c2lnbmF0dXJl',
    token_type: 'Bearer',
    expires_in: 900,
    refresh_token: 'q1Yd0qM2m1X8v2c6fQ9mW4mH4oTzq0iXy9p3c4e0Q7s'
  }]
})

export const RevokeRequest = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 4096, writeOnly: true, description: 'A refresh token or an access token: its session ends.' }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 100, description: 'A hint only (RFC 7009 §2.1): every kind of token is looked up whatever it says.' })),
  ...clientAuthentication
}, { $id: 'RevokeRequest', additionalProperties: true, examples: [{ token: 'q1Yd0qM2m1X8v2c6fQ9mW4mH4oTzq0iXy9p3c4e0Q7s' }] })

export const Session = Type.Object({
  id: Id(),
  created_at: Type.Unsafe<Date | string>(Type.String({ format: 'date-time' })),
  last_used_at: Type.Unsafe<Date | string>(Type.String({ format: 'date-time', description: 'The login, or the last refresh.' })),
  expires_at: Type.Unsafe<Date | string>(Type.String({ format: 'date-time' })),
  user_agent: Type.Union([Type.String(), Type.Null()], { description: 'The User-Agent of the login, up to 256 characters.' }),
  current: Type.Boolean({ description: 'The session of the caller\'s own token.' })
}, {
  $id: 'Session',
  additionalProperties: false,
  examples: [{ id: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8c', created_at: '2026-11-21T12:00:00.000Z', last_used_at: '2026-11-21T12:14:00.000Z', expires_at: '2026-12-21T12:00:00.000Z', user_agent: 'curl/8.5.0', current: true }]
})

export const SessionList = Type.Object({
  data: Type.Array(refTo(Session))
}, { $id: 'SessionList', additionalProperties: false })

export const SessionParams = Type.Object({
  id: Id(),
  session_id: Id()
})

export const Jwks = Type.Object({
  keys: Type.Array(Type.Object({
    kty: Type.Enum(['OKP', 'EC']),
    kid: Type.String(),
    alg: Type.Enum(['EdDSA', 'ES256']),
    use: Type.Literal('sig'),
    crv: Type.Enum(['Ed25519', 'P-256']),
    x: Type.String(),
    y: Type.Optional(Type.String())
  }, { additionalProperties: false }))
}, {
  $id: 'Jwks',
  additionalProperties: false,
  description: 'RFC 7517 JWK Set: the public keys access tokens are signed with. The first signs new tokens; all verify.',
  examples: [{ keys: [{ kty: 'OKP', kid: '5b0e3c7a-1f4e-4d5b-9a6c-2e8f7d1c3b4a', alg: 'EdDSA', use: 'sig', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] }]
})

export const AuthorizationServerMetadata = Type.Object({
  issuer: Type.String({ description: 'The `iss` of every access token.' }),
  token_endpoint: Type.String({ format: 'uri' }),
  jwks_uri: Type.String({ format: 'uri' }),
  revocation_endpoint: Type.String({ format: 'uri' }),
  introspection_endpoint: Type.String({ format: 'uri' }),
  grant_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String({ description: '`none` is the public client of the password and refresh grants (Swagger UI, the SDK); machine clients use the other three.' })),
  token_endpoint_auth_signing_alg_values_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
  introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String())
}, {
  $id: 'AuthorizationServerMetadata',
  additionalProperties: false,
  description: 'RFC 8414 authorization server metadata.',
  examples: [{
    issuer: 'users-service',
    token_endpoint: 'https://users.example.com/v1/auth/token',
    jwks_uri: 'https://users.example.com/.well-known/jwks.json',
    revocation_endpoint: 'https://users.example.com/v1/auth/revoke',
    introspection_endpoint: 'https://users.example.com/v1/auth/introspect',
    grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    scopes_supported: ['users:read', 'users:write', 'users:import', 'events:read', 'scim', 'tokens:introspect'],
    response_types_supported: []
  }]
})

export const IntrospectionRequest = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 8192, writeOnly: true, description: 'An access token or an API key.' }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 100, description: 'A hint only (RFC 7662 §2.1).' })),
  ...clientAuthentication
}, { $id: 'IntrospectionRequest', additionalProperties: true, examples: [{ token: 'eyJhbGciOiJFZERTQSJ9.e30.c2ln' }] })

export const IntrospectionResponse = Type.Object({
  active: Type.Boolean({ description: '`false` for anything this service would refuse now: unknown, expired, forged, a revoked session, a disabled or deleted user, client or key.' }),
  token_type: Type.Optional(Type.Literal('Bearer', { description: 'API keys too: they are sent as bearer tokens.' })),
  sub: Type.Optional(Type.String({ description: 'The user, or the client.' })),
  client_id: Type.Optional(Type.String({ description: 'A client token or API key: the client.' })),
  scope: Type.Optional(Type.String({ description: 'A client token or API key: the scopes it holds now, space-separated.' })),
  exp: Type.Optional(Type.Integer({ description: 'Absent for an API key without `expires_at`.' })),
  iat: Type.Optional(Type.Integer()),
  iss: Type.Optional(Type.String()),
  aud: Type.Optional(Type.String()),
  jti: Type.Optional(Type.String({ description: 'For an API key, its id.' })),
  sid: Type.Optional(Type.String({ description: 'A person\'s token: its session.' })),
  role: Type.Optional(Type.Enum(['user', 'admin'], { description: 'A person\'s token: the role the user has now.' })),
  amr: Type.Optional(Type.Array(Type.String(), { description: 'A person\'s token: how they logged in (RFC 8176).' })),
  acr: Type.Optional(Type.String({ description: 'A person\'s token: `aal1`, or `aal2` after a second factor.' })),
  auth_time: Type.Optional(Type.Integer({ description: 'A person\'s token: when they logged in, in seconds since the epoch (a refresh does not move it).' }))
}, {
  $id: 'IntrospectionResponse',
  additionalProperties: false,
  description: 'RFC 7662 §2.2.',
  examples: [{ active: false }, { active: true, token_type: 'Bearer', sub: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8c', client_id: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8c', scope: 'users:read', exp: 1796212800, iat: 1796211900, iss: 'users-service', aud: 'users-service', jti: '2f0c6d1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f' }]
})
