import Type from 'typebox'
import { ACTOR_TYPES, EVENT_TYPES } from '../src/events/types.ts'
import { refTo } from './ref.ts'
import { Id } from './strings.ts'

const PREFIXED_TYPES = EVENT_TYPES.map((type) => `users.${type}`)

const EXAMPLE_EVENT = {
  specversion: '1.0',
  id: '0196b5a0-7c1f-7d4a-9f2b-3c4d5e6f7a90',
  source: '/users-service',
  type: 'users.user.updated',
  subject: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8b',
  time: '2026-11-21T12:30:00.000Z',
  datacontenttype: 'application/json',
  data: {
    id: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8b',
    email: 'ada@example.com',
    name: 'Ada King',
    role: 'user',
    status: 'active',
    email_verified: false,
    last_login_at: '2026-11-21T12:10:00.000Z',
    created_at: '2026-11-21T12:00:00.000Z',
    updated_at: '2026-11-21T12:30:00.000Z',
    changed: ['name']
  },
  actor: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8b',
  actortype: 'user',
  requestid: '5f0c6d1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f'
}

export const CloudEvent = Type.Object({
  specversion: Type.Literal('1.0'),
  id: Id('Unique per event; the `webhook-id` of its deliveries, so receivers can drop duplicates.'),
  source: Type.String({ description: 'Always `/users-service`.' }),
  type: Type.Enum(PREFIXED_TYPES),
  subject: Id('The user the change is about; for `users.client.*`, the client.'),
  time: Type.Unsafe<Date | string>(Type.String({ format: 'date-time', description: 'When the change was made.' })),
  datacontenttype: Type.Literal('application/json'),
  data: Type.Object({}, {
    additionalProperties: true,
    description: 'User events: the user as the API shows it (after the change; for `user.deleted`, before), and for `user.updated` also `changed`, the members that changed. Session events: the session (`id`, `user_id`, `created_at`, `last_used_at`, `expires_at`, `user_agent`). Never a password, hash or token.'
  }),
  actor: Type.String({ description: 'Who made the change: a user id (the caller, or the user themself acting without a token), a client id, or `system`.' }),
  actortype: Type.Enum(ACTOR_TYPES, { description: 'What `actor` is: `user`, `client` (a machine client\'s token or API key) or `system`.' }),
  requestid: Type.Optional(Type.String({ description: 'The X-Request-ID of the request that made the change; absent for changes made outside a request.' }))
}, { $id: 'CloudEvent', additionalProperties: false, description: 'A CloudEvents 1.0 event (structured mode) with the extensions `actor`, `actortype` and `requestid`.', examples: [EXAMPLE_EVENT] })

export const EventList = Type.Object({
  data: Type.Array(refTo(CloudEvent)),
  next_cursor: Type.String({ description: 'Always present: pass it as `after` to read on, also when nothing new has come yet.' })
}, { $id: 'EventList', additionalProperties: false, examples: [{ data: [EXAMPLE_EVENT], next_cursor: 'ZTE6NDI' }] })

export const EventListQuery = Type.Object({
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A `next_cursor` from an earlier page; without it, the feed starts at its oldest kept event.' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Page size.' }),
  type: Type.Optional(Type.Enum(PREFIXED_TYPES, { description: 'Only events of this type.' })),
  subject: Type.Optional(Id('Only events about this user.'))
}, { additionalProperties: false })
