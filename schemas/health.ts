import Type from 'typebox'

export const Health = Type.Object({
  status: Type.Enum(['ok', 'unavailable']),
  checks: Type.Optional(Type.Record(Type.String(), Type.Object({
    status: Type.Enum(['ok', 'unavailable']),
    detail: Type.Optional(Type.String())
  }, { additionalProperties: false })))
}, { $id: 'Health', additionalProperties: false })
