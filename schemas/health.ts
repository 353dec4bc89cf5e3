import Type from 'typebox'

export const Health = Type.Object({
  status: Type.Enum(['ok', 'degraded', 'unavailable'], { description: '`degraded`: serving, but a dependency that is not vital is down.' }),
  checks: Type.Optional(Type.Record(Type.String(), Type.Object({
    status: Type.Enum(['ok', 'degraded', 'unavailable']),
    detail: Type.Optional(Type.String())
  }, { additionalProperties: false })))
}, { $id: 'Health', additionalProperties: false })
