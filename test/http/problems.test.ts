import { sql } from 'drizzle-orm'
import t from 'tap'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

const PROBLEM_MEMBERS = ['detail', 'instance', 'request_id', 'status', 'title', 'type']

forEachDatabase(t, async (t, database) => {
  const { api } = await buildTestApp(t, await database.create(t), { BODY_LIMIT_BYTES: '2048' })

  t.test('an unknown route is a 404 problem', async (t) => {
    const response = await api.get('/v1/nothing-here?x=1')
    t.equal(response.status, 404)
    t.same(Object.keys(response.body).sort(), PROBLEM_MEMBERS)
    t.match(response.body, { type: '/problems/not-found', status: 404, instance: '/v1/nothing-here' })
    t.equal(response.body.request_id, response.headers['x-request-id'])
  })

  t.test('a known path with the wrong method is a 405 with Allow', async (t) => {
    const collection = await api.request({ method: 'DELETE', url: '/v1/users' })
    t.equal(collection.status, 405)
    t.equal(collection.headers.allow, 'GET, HEAD, POST')
    t.equal(collection.body.type, '/problems/method-not-allowed')
    const item = await api.request({ method: 'POST', url: '/v1/users/01890a5d-ac96-774b-bcce-b302099a8057' })
    t.equal(item.status, 405)
    t.equal(item.headers.allow, 'GET, HEAD, PUT, PATCH, DELETE')
  })

  t.test('a body over BODY_LIMIT_BYTES is a 413', async (t) => {
    const response = await api.post('/v1/users', newUser({ name: 'n'.repeat(4000) }))
    t.equal(response.status, 413)
    t.equal(response.body.type, '/problems/payload-too-large')
  })
})

forEachDatabase(t, async (t, database) => {
  t.test('a failing query is a generic 500 that leaks nothing, in the response or the logs', async (t) => {
    const { api, app, logs } = await buildTestApp(t, await database.create(t))
    const body = newUser({ password: 'do-not-leak-me' })
    // A schema the code does not expect: a bug, not an outage (that is a 503, test/outage.test.ts).
    await app.db.execute(sql`alter table users rename to users_gone`)
    const response = await api.post('/v1/users', body)
    t.equal(response.status, 500)
    t.same(Object.keys(response.body).sort(), PROBLEM_MEMBERS)
    t.match(response.body, { type: '/problems/internal-error', title: 'Internal server error' })
    t.notMatch(response.text, /insert into|select |"users"|stack|PGlite|postgres|CONNECTION_/i, 'no internals in the body')
    const logged = logs.raw.join('\n')
    t.match(logged, /unhandled error/, 'the error is logged')
    t.match(logged, new RegExp(response.body.request_id), 'with the request id')
    t.notMatch(logged, /do-not-leak-me|\$argon2/, 'no password or hash in the log')
    t.notMatch(logged, new RegExp(String(body.email)), 'no statement parameters in the log')
  })
})
