import Type from 'typebox'
import { refTo } from './ref.ts'
import { Id } from './strings.ts'

const REFRESH_TOKEN = Type.String({ minLength: 1, maxLength: 512, writeOnly: true })

// One flat object for both grants and both media types (JSON, and RFC 6749 forms as
// Swagger UI's Authorize dialog sends them); the handler says which members a grant needs.
export const TokenRequest = Type.Object({
  grant_type: Type.Optional(Type.Enum(['password', 'refresh_token'], { description: '`password` (the default) or `refresh_token`.' })),
  email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Password grant: the account\'s email.' })),
  username: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Password grant, RFC 6749 name for `email`.' })),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 128, writeOnly: true, description: 'Password grant.' })),
  refresh_token: Type.Optional({ ...REFRESH_TOKEN, description: 'Refresh grant: the newest refresh token of the session; it is used up.' }),
  scope: Type.Optional(Type.String({ maxLength: 1000, description: 'Accepted and ignored: tokens carry no scopes.' })),
  client_id: Type.Optional(Type.String({ maxLength: 255, description: 'Accepted and ignored: clients are public.' })),
  client_secret: Type.Optional(Type.String({ maxLength: 255, writeOnly: true, description: 'Accepted and ignored: clients are public.' }))
}, {
  $id: 'TokenRequest',
  additionalProperties: false,
  description: 'Password grant: `{email, password}` (or RFC 6749 `grant_type=password&username=…&password=…`). Refresh grant: `{grant_type: "refresh_token", refresh_token}`.',
  examples: [{ email: 'ada@example.com', password: 'correct horse battery' }, { grant_type: 'refresh_token', refresh_token: 'q1Yd0qM2m1X8v2c6fQ9mW4mH4oTzq0iXy9p3c4e0Q7s' }]
})

export const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'A JWT (EdDSA or ES256, `typ: at+jwt`) to send as `Authorization: Bearer <token>`; verifiable with /.well-known/jwks.json.' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
  refresh_token: Type.String({ description: 'Opaque, single-use: exchange it for new tokens before the session ends. Using it twice ends the session.' })
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
  token_type_hint: Type.Optional(Type.Enum(['refresh_token', 'access_token'])),
  client_id: Type.Optional(Type.String({ maxLength: 255 }))
}, { $id: 'RevokeRequest', additionalProperties: false, examples: [{ token: 'q1Yd0qM2m1X8v2c6fQ9mW4mH4oTzq0iXy9p3c4e0Q7s' }] })

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
  grant_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
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
    grant_types_supported: ['password', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    response_types_supported: []
  }]
})
