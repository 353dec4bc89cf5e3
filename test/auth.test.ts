import { sql } from 'drizzle-orm'
import t from 'tap'
import { ADMIN, buildTestApp, newUser, TEST_JWT_SECRET } from './helpers/app.js'
import { forEachDatabase, testDatabases } from './helpers/databases.js'
import { decodeClaims, forgeToken } from './helpers/tokens.js'

const INVALID_TOKEN = /^Bearer realm="users-service", error="invalid_token"/

/** Milliseconds until check() holds; gives up (returning Infinity) after 5 s. */
async function pollUntil (check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < 5000) {
    if (await check()) return Date.now() - started
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return Infinity
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

forEachDatabase(t, async (t, database) => {
  const { app, api, admin, adminId, signUp } = await buildTestApp(t, await database.create(t))

  t.test('login returns a bearer token with the documented claims', async (t) => {
    const body = newUser()
    const created = (await api.post('/v1/users', body)).body
    const response = await api.post('/v1/auth/token', { email: String(body.email).toUpperCase(), password: body.password })
    t.equal(response.status, 200)
    t.match(response.body, { token_type: 'Bearer', expires_in: 900 })
    t.equal(response.headers['cache-control'], 'no-store')
    const claims = decodeClaims(response.body.access_token)
    t.match(claims, { sub: created.id, role: 'user', iss: 'users-service', aud: 'users-service' })
    t.equal(Number(claims.exp) - Number(claims.iat), 900)
  })

  t.test('unknown email and wrong password get the same 401, in about the same time', async (t) => {
    const { user } = await signUp()
    const attempts = { unknown: [] as number[], wrong: [] as number[] }
    let unknownBody: Record<string, unknown> = {}
    let wrongBody: Record<string, unknown> = {}
    for (let round = 0; round < 5; round += 1) {
      let started = process.hrtime.bigint()
      const unknown = await api.post('/v1/auth/token', { email: `nobody${round}@example.com`, password: 'whatever it is' })
      attempts.unknown.push(Number(process.hrtime.bigint() - started))
      started = process.hrtime.bigint()
      const wrong = await api.post('/v1/auth/token', { email: user.email, password: 'not the password' })
      attempts.wrong.push(Number(process.hrtime.bigint() - started))
      t.equal(unknown.status, 401)
      t.equal(wrong.status, 401)
      t.equal(unknown.headers['www-authenticate'], wrong.headers['www-authenticate'])
      const { request_id: _a, ...unknownRest } = unknown.body
      const { request_id: _b, ...wrongRest } = wrong.body
      unknownBody = unknownRest
      wrongBody = wrongRest
    }
    t.same(unknownBody, wrongBody, 'the same problem body')
    const ratio = median(attempts.unknown) / median(attempts.wrong)
    t.comment(`median unknown/wrong login time ratio: ${ratio.toFixed(2)}`)
    t.ok(ratio > 0.2 && ratio < 5, `same order of magnitude (ratio ${ratio.toFixed(2)})`)
  })

  t.test('no credentials: 401 with a plain Bearer challenge', async (t) => {
    const response = await api.get('/v1/users/me')
    t.equal(response.status, 401)
    t.equal(response.headers['www-authenticate'], 'Bearer realm="users-service"')
    t.equal(response.body.type, '/problems/unauthorized')
  })

  t.test('every kind of bad token is a 401 invalid_token, never a 500', async (t) => {
    const { user } = await signUp()
    const now = Math.floor(Date.now() / 1000)
    const good = { sub: user.id, role: 'user', iat: now, exp: now + 600, iss: 'users-service', aud: 'users-service' }
    const forged: Array<[string, string]> = [
      ['alg none', forgeToken(good, { secret: '', alg: 'none' })],
      ['wrong key', forgeToken(good, { secret: 'another-secret-that-is-32-bytes-long!!' })],
      ['HS512 instead of HS256', forgeToken(good, { secret: TEST_JWT_SECRET, alg: 'HS512' })],
      ['expired', forgeToken({ ...good, iat: now - 1000, exp: now - 10 }, { secret: TEST_JWT_SECRET })],
      ['not yet valid', forgeToken({ ...good, nbf: now + 600 }, { secret: TEST_JWT_SECRET })],
      ['wrong issuer', forgeToken({ ...good, iss: 'someone-else' }, { secret: TEST_JWT_SECRET })],
      ['wrong audience', forgeToken({ ...good, aud: 'another-api' }, { secret: TEST_JWT_SECRET })],
      ['no expiry', forgeToken({ ...good, exp: undefined }, { secret: TEST_JWT_SECRET })],
      ['no subject', forgeToken({ ...good, sub: undefined }, { secret: TEST_JWT_SECRET })],
      ['a subject that is not a user id', forgeToken({ ...good, sub: 'admin' }, { secret: TEST_JWT_SECRET })],
      ['an unknown user', forgeToken({ ...good, sub: '01890a5d-ac96-774b-bcce-b302099a8057' }, { secret: TEST_JWT_SECRET })],
      ['garbage', 'not.a.jwt'],
      ['two parts', 'abc.def']
    ]
    for (const [kind, token] of forged) {
      const response = await api.get('/v1/users/me', { authorization: `Bearer ${token}` })
      t.equal(response.status, 401, `${kind}: 401`)
      t.match(response.headers['www-authenticate'], INVALID_TOKEN, `${kind}: invalid_token`)
    }
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'token abc', '']) {
      const response = await api.get('/v1/users/me', { authorization: header })
      t.equal(response.status, 401, `Authorization: "${header}" is a 401`)
      t.match(response.headers['www-authenticate'], INVALID_TOKEN)
    }
    const sameClaimsRightKey = forgeToken(good, { secret: TEST_JWT_SECRET })
    t.equal((await api.get('/v1/users/me', { authorization: `Bearer ${sameClaimsRightKey}` })).status, 200, 'the control token works')
  })

  t.test('a token the service has already accepted still expires on time', async (t) => {
    const { user } = await signUp()
    const now = Math.floor(Date.now() / 1000)
    const shortLived = forgeToken({ sub: user.id, role: 'user', iat: now, exp: now + 2, iss: 'users-service', aud: 'users-service' }, { secret: TEST_JWT_SECRET })
    const authorization = `Bearer ${shortLived}`
    t.equal((await api.get('/v1/users/me', { authorization })).status, 200, 'accepted, and so remembered')
    await new Promise((resolve) => setTimeout(resolve, (now + 3) * 1000 - Date.now()))
    const expired = await api.get('/v1/users/me', { authorization })
    t.equal(expired.status, 401, 'refused once exp has passed')
    t.match(expired.headers['www-authenticate'], INVALID_TOKEN)
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
    const demotedAfter = await pollUntil(async () => (await promoted.get('/v1/users')).status === 403)
    t.ok(demotedAfter < 2000, `demoted by SQL: 403 after ${demotedAfter} ms`)
    t.comment(`demotion by another writer seen after ${demotedAfter} ms`)
    await app.db.execute(sql`delete from users where id = ${user.id}`)
    const deletedAfter = await pollUntil(async () => (await promoted.get('/v1/users/me')).status === 401)
    t.ok(deletedAfter < 2000, `deleted by SQL: 401 after ${deletedAfter} ms`)
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
      ['replace the target', (client, id) => client.put(`/v1/users/${id}`, { email: `${id}@example.com`, name: 'Replaced' }), { anonymous: 401, self: 200, other: 403, admin: 200 }],
      ['patch the target', (client, id) => client.patch(`/v1/users/${id}`, { name: 'Patched' }), { anonymous: 401, self: 200, other: 403, admin: 200 }],
      ['delete the target', (client, id) => client.delete(`/v1/users/${id}`), { anonymous: 401, self: 204, other: 403, admin: 204 }],
      ['make the target an admin (PATCH)', (client, id) => client.patch(`/v1/users/${id}`, { role: 'admin' }), { anonymous: 401, self: 403, other: 403, admin: 200 }],
      ['make the target an admin (PUT)', (client, id) => client.put(`/v1/users/${id}`, { email: `${id}@example.com`, name: 'X', role: 'admin' }), { anonymous: 401, self: 403, other: 403, admin: 200 }],
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
t.test('replicas sharing PostgreSQL forget a deleted user or a changed role at once', { skip: postgresDatabase.unavailable }, async (t) => {
  const settings = await postgresDatabase.create(t)
  const replicaA = await buildTestApp(t, settings)
  const replicaB = await buildTestApp(t, settings)
  const { user, token } = await replicaA.signUp()
  const onB = replicaB.api.withToken(token)
  t.equal((await onB.get('/v1/users/me')).status, 200, 'replica B has seen the user')
  t.equal((await replicaA.admin.patch(`/v1/users/${user.id}`, { role: 'admin' })).status, 200, 'promoted through replica A')
  const promotedAfter = await pollUntil(async () => (await onB.get('/v1/users')).status === 200)
  t.ok(promotedAfter < 2000, `replica B lets the new admin list users after ${promotedAfter} ms`)
  t.equal((await replicaA.admin.delete(`/v1/users/${user.id}`)).status, 204, 'deleted through replica A')
  const refusedAfter = await pollUntil(async () => (await onB.get('/v1/users/me')).status === 401)
  t.ok(refusedAfter < 2000, `replica B refuses the token after ${refusedAfter} ms`)
  t.comment(`across replicas: promotion seen after ${promotedAfter} ms, deletion after ${refusedAfter} ms`)
})
