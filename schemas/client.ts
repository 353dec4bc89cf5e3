import Type from 'typebox'
import { CLIENT_AUTH_METHODS, CLIENT_STATUSES, SCOPES } from '../src/clients/scopes.ts'
import { refTo } from './ref.ts'
import { FORBIDDEN_CHARACTERS, Id } from './strings.ts'

const Timestamp = Type.Unsafe<Date | string>(Type.String({ format: 'date-time' }))

const Scope = Type.Enum(SCOPES, { description: 'What a client token or API key may do; see the scopes table in docs/api.md.' })

const Scopes = Type.Array(Scope, { maxItems: SCOPES.length * 2, description: 'Each a known scope; repeats are dropped.' })

const ClientName = Type.String({
  maxLength: 200,
  pattern: `^(?![\\s\\S]*[${FORBIDDEN_CHARACTERS}])\\s*\\S(?:.{0,98}\\S)?\\s*$`,
  description: '1–100 characters after trimming, no control characters; unique among clients.'
})

const AuthMethod = Type.Enum(CLIENT_AUTH_METHODS, {
  description: 'How the client authenticates at the token endpoint, and the only way it may: HTTP Basic with its secret (the default), the secret in the form body, or a JWT signed with a key of its `jwks` (RFC 7523).'
})

const Jwk = Type.Object({
  kty: Type.String({ minLength: 1, maxLength: 10 }),
  kid: Type.Optional(Type.String({ minLength: 1, maxLength: 200 }))
}, { additionalProperties: Type.Unknown(), description: 'A public Ed25519 (`OKP`) or P-256 (`EC`) key; private members and symmetric keys are refused.' })

export const ClientJwks = Type.Object({
  keys: Type.Array(Jwk, { minItems: 1, maxItems: 10 })
}, { $id: 'ClientJwks', additionalProperties: false, description: 'The client\'s public keys (RFC 7517), for `private_key_jwt` clients only.' })

const ClientSecretInfo = Type.Object({
  id: Id(),
  created_at: Timestamp,
  expires_at: Type.Union([Timestamp, Type.Null()], { description: 'Set when a newer secret replaced it; null while it is the newest.' }),
  last_used_at: Type.Union([Timestamp, Type.Null()], { description: 'The last time it got a token (updated at most once a minute).' })
}, { additionalProperties: false })

const EXAMPLE_CLIENT = {
  id: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8c',
  name: 'billing',
  scopes: ['users:read'],
  auth_method: 'client_secret_basic',
  status: 'active',
  secrets: [{ id: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8d', created_at: '2026-12-01T12:00:00.000Z', expires_at: null, last_used_at: null }],
  created_at: '2026-12-01T12:00:00.000Z',
  updated_at: '2026-12-01T12:00:00.000Z'
}

const clientMembers = {
  id: Id('The OAuth `client_id`: a UUID v7.'),
  name: Type.String(),
  scopes: Type.Array(Scope, { description: 'The most its tokens and API keys may do.' }),
  auth_method: AuthMethod,
  status: Type.Enum(CLIENT_STATUSES, { description: '`disabled`: its tokens and keys are refused at once, and it gets no new ones.' }),
  jwks: Type.Optional(refTo(ClientJwks)),
  secrets: Type.Array(ClientSecretInfo, { description: 'Its live secrets (never the secrets themselves); empty for `private_key_jwt`.' }),
  created_at: Timestamp,
  updated_at: Timestamp
}

export const Client = Type.Object(clientMembers, { $id: 'Client', additionalProperties: false, examples: [EXAMPLE_CLIENT] })

export const CreatedClient = Type.Object({
  ...clientMembers,
  client_secret: Type.Optional(Type.String({ description: 'Shown this once, for the secret methods; only its hash is kept.' }))
}, { $id: 'CreatedClient', additionalProperties: false, examples: [{ ...EXAMPLE_CLIENT, client_secret: 'mZ2b0l3x9J8kq5hT1vYc7uWf4eRn6aPs0dGi2oLk8jQ' }] })

export const ClientCreate = Type.Object({
  name: ClientName,
  scopes: Scopes,
  auth_method: Type.Optional(AuthMethod),
  jwks: Type.Optional(refTo(ClientJwks))
}, { $id: 'ClientCreate', additionalProperties: false, examples: [{ name: 'billing', scopes: ['users:read'] }] })

export const ClientPatch = Type.Object({
  name: Type.Optional(ClientName),
  scopes: Type.Optional(Scopes),
  status: Type.Optional(Type.Enum(CLIENT_STATUSES)),
  jwks: Type.Optional(refTo(ClientJwks))
}, {
  $id: 'ClientPatch',
  additionalProperties: false,
  minProperties: 1,
  examples: [{ status: 'disabled' }],
  description: 'JSON merge patch (RFC 7396): members present are changed, the others are kept. Taking scopes away takes them from the client\'s API keys too.'
})

export const ClientList = Type.Object({
  data: Type.Array(refTo(Client)),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` to get the next page; null on the last page.' })
}, { $id: 'ClientList', additionalProperties: false })

export const ClientListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size.' }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Opaque; from `next_cursor`.' }))
}, { additionalProperties: false })

export const ClientIdParams = Type.Object({ id: Id() })

export const SecretRotation = Type.Object({
  previous_expires_in: Type.Optional(Type.Integer({
    minimum: 0,
    maximum: 30 * 86_400,
    default: 86_400,
    description: 'Seconds the client\'s older live secrets keep working (at most 30 days); 0 ends them at once.'
  }))
}, { $id: 'SecretRotation', additionalProperties: false })

export const NewClientSecret = Type.Object({
  id: Id(),
  client_secret: Type.String({ description: 'Shown this once; only its hash is kept.' }),
  created_at: Timestamp
}, { $id: 'NewClientSecret', additionalProperties: false })

export const SecretParams = Type.Object({ id: Id(), secret_id: Id() })

const apiKeyMembers = {
  id: Id(),
  name: Type.String(),
  prefix: Type.String({ description: 'The key\'s first 12 characters (`usk_` and 8 more), to recognise it by.' }),
  scopes: Type.Array(Scope, { description: 'Never more than the client\'s, now or after they shrink.' }),
  created_at: Timestamp,
  expires_at: Type.Union([Timestamp, Type.Null()]),
  last_used_at: Type.Union([Timestamp, Type.Null()], { description: 'Updated at most once a minute.' })
}

export const ApiKey = Type.Object(apiKeyMembers, { $id: 'ApiKey', additionalProperties: false })

export const CreatedApiKey = Type.Object({
  ...apiKeyMembers,
  key: Type.String({ description: 'The bearer key, `usk_` and 43 characters (256 random bits): shown this once, only its hash is kept.' })
}, { $id: 'CreatedApiKey', additionalProperties: false })

export const ApiKeyCreate = Type.Object({
  name: ClientName,
  scopes: Type.Optional(Scopes),
  expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'When it stops working; never, when absent.' }))
}, { $id: 'ApiKeyCreate', additionalProperties: false, examples: [{ name: 'nightly export', scopes: ['users:read'] }] })

export const ApiKeyList = Type.Object({ data: Type.Array(refTo(ApiKey)) }, { $id: 'ApiKeyList', additionalProperties: false })

export const ApiKeyParams = Type.Object({ id: Id(), key_id: Id() })
