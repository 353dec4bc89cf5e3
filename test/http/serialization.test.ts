import t from 'tap'
import { compilePending, rememberCompiled } from '../../src/http/compiled-cache.ts'
import { buildSerializer } from '../../src/http/serialization.ts'
import { buildTestApp } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'

const externals = { Thing: { $id: 'Thing', type: 'object', properties: { name: { type: 'string' } } } }
const route = (httpStatus: string, schema: unknown) => ({ method: 'GET', url: '/things', httpStatus, schema })
const thing = { type: 'object', properties: { thing: { $ref: 'Thing' }, count: { type: 'integer' } } }

t.test('a schema compiles on first use, once per process for the same context and schema', async (t) => {
  const compiled: string[] = []
  const compiler = (context: unknown) => rememberCompiled('test', context, (schema: { id: string }) => {
    compiled.push(schema.id)
    const check = (value: unknown) => { check.errors = value === schema.id ? null : [{ message: `not ${schema.id}` }]; return value === schema.id }
    check.errors = null as unknown
    return check
  }, (schema) => schema)
  compilePending()

  const first = compiler({ shared: 1 })({ id: 'a' })
  const again = compiler({ shared: 1 })({ id: 'a' })
  const other = compiler({ shared: 2 })({ id: 'a' })
  t.same(compiled, [], 'nothing compiles when the app is built')
  t.equal(first('a'), true)
  t.equal(again('b'), false, 'the same compiled function, by what it was compiled from')
  t.same(again.errors, [{ message: 'not a' }], 'with its errors where Fastify reads them')
  t.same(compiled, ['a'])
  t.equal(compilePending(), 1, 'what is left (another context) can be forced')
  t.same(compiled, ['a', 'a'])
  t.equal(other('a'), true)
  t.equal(compilePending(), 0)
})

t.test('the serializer is fast-json-stringify, compiled when first used', async (t) => {
  const serialize = buildSerializer(externals, {})(route('200', thing))
  t.equal(serialize({ thing: { name: 'a', secret: 'x' }, count: 2, extra: true }), '{"thing":{"name":"a"},"count":2}')
  t.throws(() => buildSerializer(externals, {})(route('200', { type: 'object', properties: { thing: { $ref: 'Missing' } } }))({}), 'a broken schema throws when used')
})

t.test('every schema of every route of the service compiles', async (t) => {
  compilePending()
  const { app } = await buildTestApp(t, await testDatabases.find((database) => database.name === 'pglite')!.create(t))
  await app.ready()
  t.ok(compilePending() > 100, 'the validators and serializers of every route, each status included')
})
