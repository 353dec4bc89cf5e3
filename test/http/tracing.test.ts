import t from 'tap'
import { parseTraceparent } from '../../plugins/app/tracing.ts'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'

const pglite = testDatabases.find((database) => database.name === 'pglite')!

t.test('request ids, trace context and Server-Timing', async (t) => {
  const { admin: api, logs } = await buildTestApp(t, await pglite.create(t))

  t.test('a valid incoming X-Request-ID is kept, in the header, the problem and the log', async (t) => {
    const response = await api.get('/v1/nowhere', { 'x-request-id': 'client.id-42_A' })
    t.equal(response.headers['x-request-id'], 'client.id-42_A')
    t.equal(response.body.request_id, 'client.id-42_A')
    const line = logs.lines.find((entry) => entry.request_id === 'client.id-42_A')
    t.match(line, { msg: 'request completed', status: 404, method: 'GET', url: '/v1/nowhere' })
  })

  for (const invalid of ['has spaces', 'x'.repeat(129), 'semi;colon', '']) {
    t.test(`an invalid X-Request-ID (${invalid.slice(0, 12) || 'empty'}) is replaced`, async (t) => {
      const response = await api.get('/health/live', { 'x-request-id': invalid })
      t.not(response.headers['x-request-id'], invalid)
      t.match(response.headers['x-request-id'], /^[0-9a-f-]{36}$/)
    })
  }

  t.test('every response carries X-Request-ID and Server-Timing', async (t) => {
    const responses = [
      await api.get('/health/live'),
      await api.post('/v1/users', newUser()),
      await api.post('/v1/users', { email: 'x' }),
      await api.request({ method: 'PATCH', url: '/v1/users' })
    ]
    for (const response of responses) {
      t.match(response.headers['x-request-id'], /^[0-9a-f-]{36}$/, `${response.status} has X-Request-ID`)
      t.match(response.headers['server-timing'], /^app;dur=\d+(\.\d+)?$/, `${response.status} has Server-Timing`)
    }
  })

  t.test('one log line per request, carrying the trace id of a valid traceparent', async (t) => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const response = await api.get('/v1/users', { traceparent, 'x-request-id': 'traced-request' })
    t.equal(response.status, 200)
    const lines = logs.lines.filter((entry) => entry.request_id === 'traced-request')
    t.equal(lines.length, 1)
    t.match(lines[0], { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', parent_span_id: '00f067aa0ba902b7', level: 'info' })
  })

  t.test('probes are not logged at info', async (t) => {
    await api.get('/health/live', { 'x-request-id': 'probe-request' })
    t.equal(logs.lines.filter((entry) => entry.request_id === 'probe-request').length, 0)
  })

  t.test('secrets never reach the log', async (t) => {
    await api.post('/v1/users', newUser({ password: 'super-secret-pw' }), { authorization: 'Bearer abc.def.ghi' })
    const logged = logs.raw.join('\n')
    t.notMatch(logged, /super-secret-pw|abc\.def\.ghi/)
  })
})

t.test('parseTraceparent follows W3C trace context', async (t) => {
  t.same(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    parentSpanId: '00f067aa0ba902b7'
  })
  for (const invalid of [
    undefined,
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    'garbage',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'
  ]) {
    t.equal(parseTraceparent(invalid), undefined, `rejects ${JSON.stringify(invalid)}`)
  }
})
