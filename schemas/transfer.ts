import Type from 'typebox'
import { MAX_IMPORTED_USERS } from '../src/transfer/import.ts'
import { Session } from './auth.ts'
import { CloudEvent } from './event.ts'
import { Factor } from './mfa.ts'
import { refTo } from './ref.ts'
import { User } from './user.ts'

const FieldErrors = Type.Array(Type.Object({ pointer: Type.String(), detail: Type.String() }, { additionalProperties: false }))

export const ImportRequest = Type.Object({
  users: Type.Array(Type.Unknown(), { description: `Up to ${MAX_IMPORTED_USERS} users, each judged on its own (more is a 413): \`{email, name, role?, status?, email_verified?, external_id?, created_at?, password_hash?}\`.` })
}, {
  $id: 'ImportRequest',
  additionalProperties: false,
  description: 'The users to import, as JSON; `application/x-ndjson` takes one user a line instead, streamed.',
  examples: [{ users: [{ email: 'ada@example.com', name: 'Ada Lovelace', password_hash: '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy', external_id: 'crm-1842', created_at: '2019-04-01T10:00:00Z' }] }]
})

export const ImportSummary = Type.Object({
  created: Type.Integer({ minimum: 0 }),
  skipped: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
  results: Type.Array(Type.Object({
    index: Type.Integer({ minimum: 0, description: 'The user\'s place in the request, from 0.' }),
    email: Type.Optional(Type.String()),
    status: Type.Union([Type.Literal('created'), Type.Literal('skipped'), Type.Literal('failed')]),
    id: Type.Optional(Type.String({ format: 'uuid' })),
    errors: Type.Optional(FieldErrors)
  }, { additionalProperties: false }))
}, {
  $id: 'ImportSummary',
  additionalProperties: false,
  description: '`created`: a new user (its `users.user.created` event has `data.imported: true`). `skipped`: the email or external_id exists, or came earlier in the request (`errors` says which). `failed`: `errors` point into that user\'s object; a line that is not JSON fails alone, with pointer `""`.',
  examples: [{ created: 1, skipped: 1, failed: 1, results: [{ index: 0, email: 'ada@example.com', status: 'created', id: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8b' }, { index: 1, email: 'ada@example.com', status: 'skipped', errors: [{ pointer: '/email', detail: 'came earlier in this request, at index 0' }] }, { index: 2, email: 'grace@example.com', status: 'failed', errors: [{ pointer: '/password_hash', detail: 'is not supported: its format is not one of bcrypt, argon2, scrypt, PBKDF2 (PHC or Django) or Firebase scrypt' }] }] }]
})

export const PersonExport = Type.Object({
  user: refTo(User),
  sessions: Type.Array(refTo(Session)),
  factors: Type.Array(refTo(Factor), { description: 'Confirmed factors, without their secrets.' }),
  events: Type.Array(refTo(CloudEvent), { description: 'The retained events about the person, oldest first.' })
}, { $id: 'PersonExport', additionalProperties: false, description: 'Everything kept about a person (GDPR Art. 15 and 20), with no secret and no hash.' })
