import { sql } from 'drizzle-orm'
import t from 'tap'
import { ADMIN, buildTestApp, newUser } from '../helpers/app.ts'
import { forEachDatabase, testDatabases } from '../helpers/databases.ts'
import { until } from '../helpers/wait.ts'

const INVALID_TOKEN = /^Bearer realm="users-service", error="invalid_token"/

/**
 * Whether check() comes to hold within a generous deadline, polling. How soon is not
 * asserted here (`npm test` asserts no durations): only that it happens without a restart.
 */
async function eventually (check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  return until(check, (held) => held, timeoutMs)
}

forEachDatabase(t, async (t, database) => {
  const { app, api, admin, adminId, signUp } = await buildTestApp(t, await database.create(t))

  // The same answer, so the response does not tell whether an account exists. Whether it
  // also takes the same time is measured, not asserted: `npm run bench:login-timing`.
  t.test('unknown email and wrong password get the same 401 and the same problem', async (t) => {
    const { user } = await signUp()
    for (let round = 0; round < 3; round += 1) {
      const unknown = await api.post('/v1/auth/token', { email: `nobody${round}@example.com`, password: 'whatever it is' })
      const wrong = await api.post('/v1/auth/token', { email: user.email, password: 'not the password' })
      t.equal(unknown.status, 401)
      t.equal(wrong.status, 401)
      t.equal(unknown.headers['www-authenticate'], wrong.headers['www-authenticate'])
      const { request_id: _a, instance: _i, ...unknownRest } = unknown.body
      const { request_id: _b, instance: _j, ...wrongRest } = wrong.body
      t.same(unknownRest, wrongRest, 'the same problem body, apart from request_id and instance')
    }
  })

  t.test('no credentials: 401 with a plain Bearer challenge', async (t) => {
    const response = await api.get('/v1/users/me')
    t.equal(response.status, 401)
    t.equal(response.headers['www-authenticate'], 'Bearer realm="users-service"')
    t.equal(response.body.type, '/problems/unauthorized')
  })

  // Forged, foreign and expired tokens: test/tokens.test.ts (and test/access-tokens.test.ts for exp).
  t.test('malformed Authorization headers are a 401 invalid_token, never a 500', async (t) => {
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'token abc', '', 'Bearer not.a.jwt', 'Bearer abc.def']) {
      const response = await api.get('/v1/users/me', { authorization: header })
      t.equal(response.status, 401, `Authorization: "${header}" is a 401`)
      t.match(response.headers['www-authenticate'], INVALID_TOKEN)
    }
  })

  t.test('a token whose user was deleted is refused', async (t) => {
    const { user, api: self } = await signUp()
    t.equal((await self.delete(`/v1/users/${user.id}`)).status, 204)
    const response = await self.get('/v1/users/me')
    t.equal(response.status, 401)
    t.match(response.headers['www-authenticate'], INVALID_TOKEN)
  })

  t.test('the current role decides, not the role in the token', async (t) => {
    const { user, api: promoted } = await signUp()
    t.equal((await admin.patch(`/v1/users/${user.id}`, { role: 'admin' })).status, 200)
    t.equal((await promoted.get('/v1/users')).status, 200, 'promotion applies to the existing token')
    t.equal((await admin.patch(`/v1/users/${user.id}`, { role: 'user' })).status, 200)
    t.equal((await promoted.get('/v1/users')).status, 403, 'demotion applies to the existing token')
  })

  t.test('a role changed or a user deleted by another writer takes effect without a restart', async (t) => {
    // Another writer: an operator's SQL, user:create, another replica. The database
    // announces the change; this replica has remembered the role from the first request.
    const { user, api: promoted } = await signUp()
    t.equal((await admin.patch(`/v1/users/${user.id}`, { role: 'admin' })).status, 200)
    t.equal((await promoted.get('/v1/users')).status, 200, 'an admin, remembered')
    await app.db.execute(sql`update users set role = 'user' where id = ${user.id}`)
    // The remembered role lives PRINCIPAL_CACHE_TTL_MS (30 s by default), longer than the polling
    // deadline: only the change notification can make these pass.
    t.ok(await eventually(async () => (await promoted.get('/v1/users')).status === 403), 'demoted by SQL: 403')
    await app.db.execute(sql`delete from users where id = ${user.id}`)
    t.ok(await eventually(async () => (await promoted.get('/v1/users/me')).status === 401), 'deleted by SQL: 401')
  })

  t.test('with PRINCIPAL_CACHE_TTL_MS=0 the role is read on every request', async (t) => {
    const uncached = await buildTestApp(t, await database.create(t), { PRINCIPAL_CACHE_TTL_MS: '0' })
    const { user, api: self } = await uncached.signUp()
    t.equal((await self.get('/v1/users')).status, 403)
    await uncached.app.db.execute(sql`update users set role = 'admin' where id = ${user.id}`)
    t.equal((await self.get('/v1/users')).status, 200, 'the very next request sees the change')
  })

  t.test('who may do what', async (t) => {
    type Actor = 'anonymous' | 'self' | 'other' | 'admin'
    type Operation = [name: string, run: (client: typeof api, targetId: string) => ReturnType<typeof api.get>, expected: Record<Actor, number>]
    const operations: Operation[] = [
      ['list users', (client) => client.get('/v1/users'), { anonymous: 401, self: 403, other: 403, admin: 200 }],
      ['read me', (client) => client.get('/v1/users/me'), { anonymous: 401, self: 200, other: 200, admin: 200 }],
      ['read the target', (client, id) => client.get(`/v1/users/${id}`), { anonymous: 401, self: 200, other: 403, admin: 200 }],
      ['replace the target', (client, id) => client.put(`/v1/users/${id}`, { email: `${id}@example.com`, name: 'Replaced', current_password: 'matrix-secret-pw' }), { anonymous: 401, self: 200, other: 403, admin: 200 }],
      ['patch the target', (client, id) => client.patch(`/v1/users/${id}`, { name: 'Patched' }), { anonymous: 401, self: 200, other: 403, admin: 200 }],
      ['delete the target', (client, id) => client.delete(`/v1/users/${id}`), { anonymous: 401, self: 204, other: 403, admin: 204 }],
      ['make the target an admin (PATCH)', (client, id) => client.patch(`/v1/users/${id}`, { role: 'admin' }), { anonymous: 401, self: 403, other: 403, admin: 200 }],
      ['make the target an admin (PUT)', (client, id) => client.put(`/v1/users/${id}`, { email: `${id}@example.com`, name: 'X', role: 'admin' }), { anonymous: 401, self: 403, other: 403, admin: 200 }],
      ['disable the target', (client, id) => client.patch(`/v1/users/${id}`, { status: 'disabled' }), { anonymous: 401, self: 403, other: 403, admin: 200 }],
      ['list the target\'s sessions', (client, id) => client.get(`/v1/users/${id}/sessions`), { anonymous: 401, self: 200, other: 403, admin: 200 }],
      ['end the target\'s sessions', (client, id) => client.delete(`/v1/users/${id}/sessions`), { anonymous: 401, self: 204, other: 403, admin: 204 }],
      ['keep the target\'s own role (PATCH)', (client, id) => client.patch(`/v1/users/${id}`, { role: 'user' }), { anonymous: 401, self: 200, other: 403, admin: 200 }],
      ['sign up an admin', (client) => client.post('/v1/users', newUser({ role: 'admin' })), { anonymous: 403, self: 403, other: 403, admin: 201 }],
      ['sign up with role user', (client) => client.post('/v1/users', newUser({ role: 'user' })), { anonymous: 201, self: 201, other: 201, admin: 201 }]
    ]
    const { api: other } = await signUp()
    const texts: string[] = []
    for (const [name, run, expected] of operations) {
      for (const actor of Object.keys(expected) as Actor[]) {
        const target = await signUp({ password: 'matrix-secret-pw' })
        const client = { anonymous: api, self: target.api, other, admin }[actor]
        const response = await run(client, target.user.id)
        texts.push(response.text)
        t.equal(response.status, expected[actor], `${actor} → ${name}: ${expected[actor]}`)
      }
    }
    t.notMatch(texts.join('\n'), /matrix-secret-pw|\$argon2|password_hash/, 'no response carries a password or a hash')
  })

  t.test('credentials are checked before the input, the id before who may use it', async (t) => {
    const { api: user } = await signUp()
    t.equal((await api.patch('/v1/users/not-a-uuid', { name: 42 })).status, 401, 'anonymous: 401 whatever the input')
    t.equal((await user.get('/v1/users/not-a-uuid')).status, 400, 'a malformed id is a 400 for a user too')
    t.equal((await user.get('/v1/users?limit=0')).status, 400, 'a bad query is a 400 before the admin check')
    t.equal((await user.get('/v1/users')).status, 403)
  })

  t.test('the bootstrap admin is an admin', async (t) => {
    const me = await admin.get('/v1/users/me')
    t.match(me.body, { id: adminId, email: ADMIN.email, role: 'admin' })
  })
})

forEachDatabase(t, async (t, database) => {
  t.test('the bootstrap admin is created once and survives restarts', async (t) => {
    const settings = await database.create(t, { persistent: true })
    const first = await buildTestApp(t, settings)
    const promotedEmail = 'promote.me@example.com'
    t.equal((await first.api.post('/v1/users', newUser({ email: promotedEmail, password: 'my own password' }))).status, 201)
    await first.app.close()

    const second = await buildTestApp(t, settings, { ADMIN_EMAIL: promotedEmail, ADMIN_PASSWORD: 'ignored for existing users' })
    const promoted = await second.api.loginAs(promotedEmail, 'my own password')
    t.equal((await promoted.get('/v1/users/me')).body.role, 'admin', 'an existing user is promoted, keeping their password')
    await second.app.close()

    const third = await buildTestApp(t, settings)
    const admins = (await third.admin.get('/v1/users?role=admin')).body.data
    t.same(admins.map((user: { email: string }) => user.email).sort(), [ADMIN.email, promotedEmail], 'one of each, however many restarts')
  })
})

const postgresDatabase = testDatabases.find((database) => database.name === 'postgres')!
// Each replica remembers roles for PRINCIPAL_CACHE_TTL_MS (30 s by default), longer than the polling deadline.
t.test('replicas sharing PostgreSQL forget a deleted user or a changed role without waiting for their cache to expire', { skip: postgresDatabase.unavailable }, async (t) => {
  const settings = await postgresDatabase.create(t)
  const replicaA = await buildTestApp(t, settings)
  const replicaB = await buildTestApp(t, settings)
  const { user, token } = await replicaA.signUp()
  const onB = replicaB.api.withToken(token)
  t.equal((await onB.get('/v1/users/me')).status, 200, 'replica B has seen the user')
  t.equal((await replicaA.admin.patch(`/v1/users/${user.id}`, { role: 'admin' })).status, 200, 'promoted through replica A')
  t.ok(await eventually(async () => (await onB.get('/v1/users')).status === 200), 'replica B lets the new admin list users')
  t.equal((await replicaA.admin.delete(`/v1/users/${user.id}`)).status, 204, 'deleted through replica A')
  t.ok(await eventually(async () => (await onB.get('/v1/users/me')).status === 401), 'replica B refuses the token')
})
