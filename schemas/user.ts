import Type, { type Static } from 'typebox'

const Role = Type.Enum(['user', 'admin'], { description: 'Only an admin may set it; self-registration gets `user`.' })

const Email = Type.String({
  format: 'email',
  maxLength: 254,
  description: 'Unique, compared case-insensitively, returned lower-cased.'
})

// 1–100 characters once surrounding white space is trimmed; the service trims it.
const Name = Type.String({
  maxLength: 1000,
  pattern: '^\\s*\\S(?:.{0,98}\\S)?\\s*$',
  description: '1–100 characters after trimming'
})

const Password = Type.String({
  minLength: 8,
  maxLength: 128,
  writeOnly: true,
  description: 'Write-only; stored as an argon2id hash and never returned.'
})

export const User = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Server-assigned UUID v7 (time-ordered).' }),
  email: Email,
  name: Type.String(),
  role: Role,
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' })
}, { $id: 'User', additionalProperties: false })

export const UserCreate = Type.Object({
  email: Email,
  name: Name,
  password: Password,
  role: Type.Optional(Role)
}, { $id: 'UserCreate', additionalProperties: false })

export const UserReplace = Type.Object({
  email: Email,
  name: Name,
  role: Type.Optional(Role)
}, { $id: 'UserReplace', additionalProperties: false })

export const UserPatch = Type.Object({
  email: Type.Optional(Email),
  name: Type.Optional(Name),
  password: Type.Optional(Password),
  role: Type.Optional(Role)
}, {
  $id: 'UserPatch',
  additionalProperties: false,
  minProperties: 1,
  description: 'JSON merge patch (RFC 7396): members present are changed, the others are kept.'
})

export const UserList = Type.Object({
  data: Type.Array(Type.Ref('User')),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as `cursor` to get the next page; null on the last page.'
  })
}, { $id: 'UserList', additionalProperties: false })

export const UserListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size.' }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Opaque; from `next_cursor`.' })),
  email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Exact match, case-insensitive.' })),
  role: Type.Optional(Role),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Case-insensitive substring of name or email.' }))
})

export const UserIdParams = Type.Object({
  id: Type.String({ format: 'uuid' })
})

export type UserCreate = Static<typeof UserCreate>
export type UserReplace = Static<typeof UserReplace>
export type UserPatch = Static<typeof UserPatch>
export type UserListQuery = Static<typeof UserListQuery>
export type UserIdParams = Static<typeof UserIdParams>
