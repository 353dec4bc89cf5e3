import Type, { type Static } from 'typebox'
import { ROLES, STATUSES } from '../src/users/roles.ts'
import { refTo } from './ref.ts'
import { FORBIDDEN_CHARACTERS, Id } from './strings.ts'

const EXAMPLE_USER = {
  id: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8b',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  role: 'user',
  status: 'active',
  email_verified: false,
  last_login_at: '2026-11-21T12:10:00.000Z',
  created_at: '2026-11-21T12:00:00.000Z',
  updated_at: '2026-11-21T12:30:00.000Z'
}

const Role = Type.Enum(ROLES, { description: 'Only an admin may set it; self-registration gets `user`.' })

const Status = Type.Enum(STATUSES, { description: 'Only an admin may set it; a `disabled` user cannot log in, and their sessions end.' })

export const Email = Type.String({
  format: 'email',
  maxLength: 254,
  description: 'Unique, compared case-insensitively, returned lower-cased.'
})

// 1–100 characters once surrounding white space is trimmed (the service trims it), no
// control or bidi-override characters, and something visible: not only format characters.
export const Name = Type.String({
  maxLength: 1000,
  pattern: `^(?![\\s\\S]*[${FORBIDDEN_CHARACTERS}])(?=[\\s\\S]*[^\\s\\p{Cf}])\\s*\\S(?:.{0,98}\\S)?\\s*$`,
  description: '1–100 characters after trimming, with something visible and no control characters'
})

export const Password = Type.String({
  minLength: 8,
  maxLength: 128,
  writeOnly: true,
  description: 'Write-only; stored as an argon2id hash and never returned.'
})

// The domain hands out Dates; the serializer writes them as RFC 3339 strings.
const Timestamp = Type.Unsafe<Date | string>(Type.String({ format: 'date-time' }))

export const User = Type.Object({
  id: Id('Server-assigned UUID v7 (time-ordered), in lower case.'),
  email: Email,
  name: Type.String(),
  role: Role,
  status: Status,
  email_verified: Type.Boolean({ description: '`false` on sign-up and whenever `email` changes.' }),
  last_login_at: Type.Union([Timestamp, Type.Null()], { description: 'The last successful password login; refreshes do not count.' }),
  created_at: Timestamp,
  updated_at: Timestamp
}, { $id: 'User', additionalProperties: false, examples: [EXAMPLE_USER] })

export const UserCreate = Type.Object({
  email: Email,
  name: Name,
  password: Password,
  role: Type.Optional(Role)
}, { $id: 'UserCreate', additionalProperties: false, examples: [{ email: 'ada@example.com', name: 'Ada Lovelace', password: 'correct horse battery' }] })

const CurrentPassword = Type.String({
  minLength: 1,
  maxLength: 128,
  writeOnly: true,
  description: 'Required when users change their own password or email: the password they have now (a wrong one counts as a failed login).'
})

export const UserReplace = Type.Object({
  email: Email,
  name: Name,
  role: Type.Optional(Role),
  current_password: Type.Optional(CurrentPassword)
}, { $id: 'UserReplace', additionalProperties: false, examples: [{ email: 'ada@example.com', name: 'Ada King' }] })

export const UserPatch = Type.Object({
  email: Type.Optional(Email),
  name: Type.Optional(Name),
  password: Type.Optional(Password),
  current_password: Type.Optional(CurrentPassword),
  role: Type.Optional(Role),
  status: Type.Optional(Status)
}, {
  $id: 'UserPatch',
  additionalProperties: false,
  minProperties: 1,
  examples: [{ name: 'Ada King' }],
  description: 'JSON merge patch (RFC 7396): members present are changed, the others are kept.'
})

export const UserList = Type.Object({
  data: Type.Array(refTo(User)),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as `cursor` to get the next page; null on the last page.'
  }),
  total: Type.Optional(Type.Integer({
    minimum: 0,
    description: 'How many users match the filters, over all pages; only with `include_total=true`.'
  }))
}, { $id: 'UserList', additionalProperties: false, examples: [{ data: [EXAMPLE_USER], next_cursor: 'dTI6WyJjcmVhdGVkX2F0IiwiUkJOdm8xV3paNG9SIiwiMjAyNi0xMS0yMVQxMjowMDowMC4wMDBaIiwiMDE5NmI1YTAtN2MxZS03ZDRhLTlmMmItM2M0ZDVlNmY3YThiIl0' }] })

/** The listing's order when the query names none. */
export const DEFAULT_USER_SORT = 'created_at'

export const UserListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size.' }),
  cursor: Type.Optional(Type.String({
    minLength: 1,
    // Room for the longest name a cursor may carry.
    maxLength: 1024,
    description: 'Opaque; from `next_cursor`. Valid only with the `sort` and filters it was issued for.'
  })),
  email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Exact match, case-insensitive.' })),
  role: Type.Optional(Role),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: `^[^${FORBIDDEN_CHARACTERS}]*$`, description: 'Case-insensitive substring of name or email, without control characters.' })),
  status: Type.Optional(Type.Enum(STATUSES, { description: 'Only users with this status.' })),
  sort: Type.Optional(Type.Enum(['created_at', '-created_at', 'email', '-email', 'name', '-name'], {
    default: DEFAULT_USER_SORT,
    description: 'The order: by `created_at` (the default), `email` or `name`, ascending, or descending with a leading `-`. Ties go by id, in the same direction.'
  })),
  include_total: Type.Optional(Type.Boolean({ description: '`true` adds `total` to the body: how many users match the filters, over all pages. It costs a count of them.' }))
}, { additionalProperties: false })

export const UserIdParams = Type.Object({
  id: Id()
})

/** What PUT and PATCH may change: the write both share. */
export type UserChangesBody = Static<typeof UserReplace> | Static<typeof UserPatch>
