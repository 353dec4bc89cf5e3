import { sql } from 'drizzle-orm'
import t from 'tap'
import { deleteExpiredKeys } from '../../src/idempotency/keys.ts'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

forEachDatabase(t, async (t, database) => {
  // The service's own hashing cost: a sign-up must take long enough for repeats to arrive while it runs.
  const { app, api, admin, signUp } = await buildTestApp(t, await database.create(t), { PASSWORD_HASH_MEMORY_KIB: '19456', PASSWORD_HASH_ITERATIONS: '2' })

  async function usersWithEmail (email: unknown): Promise<number> {
    return (await admin.get(`/v1/users?email=${encodeURIComponent(String(email))}`)).body.data.length
  }

  t.test('the same key and body replays the first response', async (t) => {
    const body = newUser()
    const first = await api.post('/v1/users', body, { 'idempotency-key': 'signup-1' })
    t.equal(first.status, 201)
    t.notOk(first.headers['idempotent-replayed'])
    const replay = await api.post('/v1/users', { ...body }, { 'idempotency-key': 'signup-1' })
    t.equal(replay.status, 201)
    t.equal(replay.headers['idempotent-replayed'], 'true')
    t.equal(replay.text, first.text, 'the same body')
    t.equal(replay.headers.location, first.headers.location)
    t.equal(replay.headers.etag, first.headers.etag)
    t.not(replay.headers['x-request-id'], first.headers['x-request-id'], 'a request id of its own')
    t.equal(await usersWithEmail(body.email), 1, 'one user')
  })

  t.test('member order does not matter, a different body does', async (t) => {
    const body = newUser()
    t.equal((await api.post('/v1/users', body, { 'idempotency-key': 'signup-2' })).status, 201)
    const reordered = Object.fromEntries(Object.entries(body).reverse())
    t.equal((await api.post('/v1/users', reordered, { 'idempotency-key': 'signup-2' })).headers['idempotent-replayed'], 'true')
    const different = await api.post('/v1/users', { ...body, name: 'Someone else' }, { 'idempotency-key': 'signup-2' })
    t.equal(different.status, 422)
    t.equal(different.body.type, '/problems/idempotency-key-reused')
  })

  t.test('errors are replayed too', async (t) => {
    const body = newUser()
    t.equal((await api.post('/v1/users', body)).status, 201)
    const conflict = await api.post('/v1/users', body, { 'idempotency-key': 'signup-3' })
    t.equal(conflict.status, 409)
    const replay = await api.post('/v1/users', body, { 'idempotency-key': 'signup-3' })
    t.equal(replay.status, 409)
    t.equal(replay.headers['idempotent-replayed'], 'true')
  })

  t.test('keys belong to their caller', async (t) => {
    const { api: someone } = await signUp()
    const body = newUser()
    t.equal((await someone.post('/v1/users', body, { 'idempotency-key': 'shared-key' })).status, 201)
    const anonymous = await api.post('/v1/users', { ...body, email: 'another.one@example.com' }, { 'idempotency-key': 'shared-key' })
    t.equal(anonymous.status, 201, 'the same key from another caller is a new request')
    t.notOk(anonymous.headers['idempotent-replayed'])
  })

  t.test('a key must be 1–255 characters', async (t) => {
    const response = await api.post('/v1/users', newUser(), { 'idempotency-key': 'k'.repeat(256) })
    t.equal(response.status, 400)
    t.same(response.body.errors.map((error: { pointer: string }) => error.pointer), ['idempotency-key'])
    t.equal((await api.post('/v1/users', newUser(), { 'idempotency-key': 'k'.repeat(255) })).status, 201)
  })

  t.test('a repeat while the first request still runs is a 409', async (t) => {
    const http = await api.overHttp()
    const body = newUser()
    const responses = await Promise.all(Array.from({ length: 10 }, () => http.post('/v1/users', body, { 'idempotency-key': 'concurrent-key' })))
    const firsts = responses.filter((response) => response.status === 201 && response.headers['idempotent-replayed'] === undefined)
    const inFlight = responses.filter((response) => response.status === 409)
    t.equal(firsts.length, 1, 'exactly one request ran')
    t.ok(inFlight.length >= 1, `${inFlight.length} were refused while it ran`)
    for (const refused of inFlight) {
      t.equal(refused.body.type, '/problems/idempotency-key-in-flight')
      t.equal(refused.headers['retry-after'], '1')
    }
    t.equal(responses.length, firsts.length + inFlight.length + responses.filter((response) => response.headers['idempotent-replayed'] === 'true').length)
    t.equal(await usersWithEmail(body.email), 1)
  })

  t.test('expired keys are cleaned up and can be used afresh', async (t) => {
    const body = newUser()
    t.equal((await api.post('/v1/users', body, { 'idempotency-key': 'expiring' })).status, 201)
    await app.db.execute(sql`update idempotency_keys set expires_at = now() - interval '1 second' where key = 'expiring'`)
    t.ok(await deleteExpiredKeys(app.db) >= 1)
    const fresh = await api.post('/v1/users', newUser(), { 'idempotency-key': 'expiring' })
    t.equal(fresh.status, 201)
    t.notOk(fresh.headers['idempotent-replayed'], 'a new body is a new request once the key expired')
  })

  t.test('an expired key that was not cleaned up yet is taken over', async (t) => {
    t.equal((await api.post('/v1/users', newUser(), { 'idempotency-key': 'stale' })).status, 201)
    await app.db.execute(sql`update idempotency_keys set expires_at = now() - interval '1 second' where key = 'stale'`)
    const response = await api.post('/v1/users', newUser(), { 'idempotency-key': 'stale' })
    t.equal(response.status, 201)
    t.notOk(response.headers['idempotent-replayed'])
  })
})
