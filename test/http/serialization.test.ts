import t from 'tap'
import { buildSerializer } from '../../src/http/serialization.ts'

const externals = { Thing: { $id: 'Thing', type: 'object', properties: { name: { type: 'string' } } } }
const route = (httpStatus: string, schema: unknown) => ({ method: 'GET', url: '/things', httpStatus, schema })
const thing = { type: 'object', properties: { thing: { $ref: 'Thing' }, count: { type: 'integer' } } }

t.test('apps built from the same schemas share the compiled serializers; any difference compiles anew', async (t) => {
  const first = buildSerializer(externals, {})(route('200', thing))
  const again = buildSerializer(structuredClone(externals), {})(route('200', structuredClone(thing)))
  t.equal(again, first, 'equal schemas, another app: the same function')
  t.not(buildSerializer(externals, {})(route('201', thing)), first, 'another status')
  t.not(buildSerializer({ ...externals, Other: { $id: 'Other', type: 'string' } }, {})(route('200', thing)), first, 'other shared schemas')
  t.not(buildSerializer(externals, {})(route('200', { ...thing, required: ['count'] })), first, 'another schema')
  t.equal(first({ thing: { name: 'a', secret: 'x' }, count: 2, extra: true }), '{"thing":{"name":"a"},"count":2}', 'and it serializes as fast-json-stringify does')
})
