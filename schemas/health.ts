import Type from 'typebox'
import { problemMembers } from './problem.ts'

const Checks = Type.Record(Type.String(), Type.Object({
  status: Type.Enum(['ok', 'degraded', 'unavailable']),
  detail: Type.Optional(Type.String())
}, { additionalProperties: false }), { description: 'One entry per dependency: `database`, `draining`, and `rateLimitStore` when Redis is configured.' })

export const Health = Type.Object({
  status: Type.Enum(['ok', 'degraded'], { description: '`degraded`: serving, but a dependency that is not vital is down.' }),
  checks: Type.Optional(Checks)
}, { $id: 'Health', additionalProperties: false, examples: [{ status: 'ok', checks: { database: { status: 'ok' }, draining: { status: 'ok' } } }] })

export const NotReady = Type.Object({ ...problemMembers, checks: Type.Optional(Checks) }, {
  $id: 'NotReady',
  description: 'A 503 problem from the readiness probe, with what is not ready in `checks` (absent when the server sheds load).'
})
