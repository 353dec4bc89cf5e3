import { createLocalJWKSet, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWTPayload } from 'jose'
import t, { type Test } from 'tap'
import { prependNewKey } from '../../src/identity/signing-keys.ts'
import { ADMIN, buildTestApp, newUser, TEST_SIGNING_KEYS, type Api, type TestApp } from '../helpers/app.ts'
import { memoryDatabase, forEachDatabase, testDatabases } from '../helpers/databases.ts'
import { decodePart, forgeToken } from '../helpers/tokens.ts'
import { until } from '../helpers/wait.ts'

const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43,}$/

/** What every refused credential must look like: a 401 problem with a Bearer challenge. */
function assertRefused (t: Test, response: { status: number, headers: Record<string, unknown>, body: any }, what: string): void {
  t.equal(response.status, 401, `${what}: 401`)
  t.match(response.headers['www-authenticate'], /^Bearer realm="users-service"/, `${what}: Bearer challenge`)
  t.equal(response.body?.type, '/problems/unauthorized', `${what}: a problem`)
}

/** A grant the token endpoint refuses: RFC 6749 §5.2 JSON, `invalid_grant`, with the problem members too. */
function assertGrantRefused (t: Test, response: { status: number, headers: Record<string, unknown>, body: any }, what: string): void {
  t.equal(response.status, 401, `${what}: 401`)
  t.match(response.headers['content-type'], /^application\/json/, `${what}: JSON, as OAuth clients expect`)
  t.match(response.body, { error: 'invalid_grant', type: '/problems/invalid-grant', status: 401 }, `${what}: invalid_grant`)
}

async function login (api: Api, email: string, password: string) {
  return api.post('/v1/auth/token', { email, password })
}

/** A signed token with everything right except what `change` alters: claims and header. */
async function tokenLike (valid: string, { claims = {}, header = {}, key }: { claims?: JWTPayload, header?: Record<string, unknown>, key?: CryptoKey }): Promise<string> {
  const original = decodePart(valid, 1)
  const originalHeader = decodePart(valid, 0)
  const signingKey = key ?? (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey
  return new SignJWT({ ...original, ...claims }).setProtectedHeader({ ...originalHeader, ...header } as { alg: string }).sign(signingKey)
}

forEachDatabase(t, async (t, database) => {
  // Every test here works on users of its own: one app serves them all.
  const shared = await buildTestApp(t, await database.create(t))

  t.test('a password login answers an EdDSA access token of a new session and a refresh token', async (t) => {
    const { api, signUp } = shared
    const body = newUser()
    const created = (await api.post('/v1/users', body)).body
    const response = await login(api, String(body.email), String(body.password))
    t.equal(response.status, 200)
    t.equal(response.headers['cache-control'], 'no-store')
    t.match(response.body, { token_type: 'Bearer', expires_in: 900 })
    t.match(response.body.refresh_token, REFRESH_TOKEN, 'at least 256 bits, URL-safe')
    const header = decodePart(response.body.access_token, 0)
    const claims = decodePart(response.body.access_token, 1)
    t.match(header, { alg: 'EdDSA', typ: 'at+jwt', kid: String })
    t.match(claims, { iss: 'users-service', aud: 'users-service', sub: created.id, role: 'user', sid: String, jti: String, iat: Number, exp: Number })
    t.equal(Number(claims.exp) - Number(claims.iat), 900)
    const me = await api.withToken(response.body.access_token).get('/v1/users/me')
    t.equal(me.status, 200)
    t.not(me.body.last_login_at, null, 'the login is recorded')
    const again = await signUp()
    t.not(decodePart(again.token, 1).sid, claims.sid, 'each login its own session')
  })

  t.test('the JWKS publishes public keys only; the metadata points at it', async (t) => {
    const { api } = shared
    const jwks = await api.get('/.well-known/jwks.json')
    t.equal(jwks.status, 200)
    t.match(jwks.headers['cache-control'], /^public, max-age=\d+$/)
    const configured = JSON.parse(TEST_SIGNING_KEYS) as { keys: Array<Record<string, string>> }
    t.same(jwks.body.keys.map((key: Record<string, string>) => key.kid), configured.keys.map((key) => key.kid))
    t.notMatch(jwks.text, /"d"/, 'no private member')
    // Whatever Host a request names: the URLs are the configured origin's (here the development default).
    const metadata = await api.get('/.well-known/oauth-authorization-server', { host: 'attacker.example', 'x-forwarded-host': 'attacker.example' })
    t.equal(metadata.status, 200)
    t.match(metadata.body, {
      issuer: 'users-service',
      token_endpoint: 'http://localhost:3000/v1/auth/token',
      jwks_uri: 'http://localhost:3000/.well-known/jwks.json',
      revocation_endpoint: 'http://localhost:3000/v1/auth/revoke',
      grant_types_supported: ['password', 'refresh_token']
    })
    t.notMatch(metadata.text, /attacker/, 'nothing of the request\'s Host')
  })

  t.test('refresh rotates the token; a used one presented again ends the whole session', async (t) => {
    const { api, signUp } = shared
    const { token, refreshToken } = await signUp()
    const first = await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken })
    t.equal(first.status, 200)
    t.not(first.body.refresh_token, refreshToken, 'a new refresh token')
    t.equal(decodePart(first.body.access_token, 1).sid, decodePart(token, 1).sid, 'the same session')
    const second = await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: first.body.refresh_token })
    t.equal(second.status, 200, 'the new one works')

    assertGrantRefused(t, await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken }), 'the first token again (theft)')
    assertGrantRefused(t, await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: second.body.refresh_token }), 'the newest token after the theft')
    assertRefused(t, await api.withToken(second.body.access_token).get('/v1/users/me'), 'an access token of the ended session')
    assertRefused(t, await api.withToken(token).get('/v1/users/me'), 'the first access token of the ended session')
    assertGrantRefused(t, await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: 'A'.repeat(43) }), 'an unknown refresh token')
  })

  t.test('of 30 concurrent refreshes with one token exactly one succeeds', async (t) => {
    const { api, signUp } = shared
    const { refreshToken } = await signUp()
    const responses = await Promise.all(Array.from({ length: 30 }, () => api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken })))
    const statuses = responses.map((response) => response.status)
    t.equal(statuses.filter((status) => status === 200).length, 1, 'one winner')
    t.equal(statuses.filter((status) => status === 401).length, 29, 'the rest are reuse')
  })

  t.test('logout (RFC 7009) ends the session at once; unknown tokens are a 200 too', async (t) => {
    const { api, signUp } = shared
    const { token, refreshToken, api: user } = await signUp()
    t.equal((await user.get('/v1/users/me')).status, 200, 'the token works and its session is remembered')
    t.equal((await api.post('/v1/auth/revoke', { token: refreshToken })).status, 200)
    assertRefused(t, await api.withToken(token).get('/v1/users/me'), 'the access token after logout')
    assertGrantRefused(t, await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken }), 'the refresh token after logout')
    t.equal((await api.post('/v1/auth/revoke', { token: refreshToken })).status, 200, 'again: nothing to do')
    t.equal((await api.post('/v1/auth/revoke', { token: 'never-issued' })).status, 200, 'unknown')
    const other = await signUp()
    t.equal((await api.post('/v1/auth/revoke', { token: other.token })).status, 200, 'an access token revokes its session')
    assertRefused(t, await api.withToken(other.token).get('/v1/users/me'), 'that access token')
    t.match(await api.post('/v1/auth/revoke', {}), { status: 400, body: { error: 'invalid_request', errors: [{ pointer: '/token' }] } }, 'no token: invalid_request')
  })

  t.test('RFC 6749 form bodies: the password and refresh grants', async (t) => {
    const { api } = shared
    const form = { 'content-type': 'application/x-www-form-urlencoded' }
    const body = newUser()
    await api.post('/v1/users', body)
    const password = await api.request({ method: 'POST', url: '/v1/auth/token', headers: form, payload: new URLSearchParams({ grant_type: 'password', username: String(body.email), password: String(body.password), scope: '' }).toString() })
    t.equal(password.status, 200)
    const refreshed = await api.request({ method: 'POST', url: '/v1/auth/token', headers: form, payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: password.body.refresh_token }).toString() })
    t.equal(refreshed.status, 200)
    const revoked = await api.request({ method: 'POST', url: '/v1/auth/revoke', headers: form, payload: new URLSearchParams({ token: refreshed.body.refresh_token, token_type_hint: 'refresh_token' }).toString() })
    t.equal(revoked.status, 200)
    const incomplete = await api.post('/v1/auth/token', { grant_type: 'refresh_token' })
    t.equal(incomplete.status, 400)
    t.equal(incomplete.body.error, 'invalid_request')
    t.same(incomplete.body.errors, [{ pointer: '/refresh_token', detail: 'is required for the refresh_token grant' }])
    const noPassword = await api.post('/v1/auth/token', { email: body.email })
    t.same(noPassword.body.errors, [{ pointer: '/password', detail: 'is required for the password grant' }])
    t.equal((await api.request({ method: 'POST', url: '/v1/users', headers: form, payload: 'email=a%40b.c' })).status, 415, 'forms only where OAuth wants them')
  })

  t.test('forged and foreign tokens are refused, and change nothing', async (t) => {
    const { api, signUp, admin } = shared
    const { token, user } = await signUp()
    const publicKey = (await api.get('/.well-known/jwks.json')).body.keys[0]
    const attacker = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const attackerJwk = { ...await exportJWK(attacker.publicKey), kid: 'attacker' }
    const now = Math.floor(Date.now() / 1000)
    const forgeries: Array<[string, string]> = [
      ['alg none', forgeToken({ ...decodePart(token, 1), role: 'admin' }, { secret: '', alg: 'none', header: { kid: publicKey.kid } })],
      ['HS256 signed with the public key as HMAC secret', forgeToken({ ...decodePart(token, 1), role: 'admin' }, { secret: JSON.stringify(publicKey), header: { kid: publicKey.kid } })],
      ['HS256 signed with the raw public key bytes', forgeToken(decodePart(token, 1), { secret: Buffer.from(publicKey.x, 'base64url'), header: { kid: publicKey.kid } })],
      ['an unknown kid', await tokenLike(token, { header: { kid: 'no-such-key' }, key: attacker.privateKey })],
      ['a jwk header with the attacker\'s key', await tokenLike(token, { header: { kid: 'attacker', jwk: attackerJwk }, key: attacker.privateKey })],
      ['a jku header pointing elsewhere', await tokenLike(token, { header: { jku: 'http://127.0.0.1:9/jwks.json' }, key: attacker.privateKey })],
      ['an x5u header pointing elsewhere', await tokenLike(token, { header: { x5u: 'http://127.0.0.1:9/cert.pem' }, key: attacker.privateKey })],
      ['our kid, another key', await tokenLike(token, { key: attacker.privateKey })],
      ['a token of another key set', await tokenLike(token, { header: { kid: 'other-set' }, key: attacker.privateKey })],
      ['a truncated signature', token.slice(0, -4)],
      ['garbage', 'not.a.token'],
      ['no signature', token.split('.').slice(0, 2).join('.') + '.']
    ]
    for (const [what, forged] of forgeries) assertRefused(t, await api.withToken(forged).get('/v1/users/me'), what)
    t.equal((await admin.get(`/v1/users/${user.id}`)).body.role, 'user', 'nothing changed')

    // Validly signed by this service's own key, but wrong in a claim or the type.
    const ours = JSON.parse(TEST_SIGNING_KEYS).keys[0]
    const { importJWK } = await import('jose')
    const ourKey = await importJWK(ours, 'EdDSA') as CryptoKey
    const wrong: Array<[string, { claims?: JWTPayload, header?: Record<string, unknown> }]> = [
      ['a wrong iss', { claims: { iss: 'someone-else' } }],
      ['a wrong aud', { claims: { aud: 'another-service' } }],
      ['a wrong typ', { header: { typ: 'JWT' } }],
      ['expired', { claims: { iat: now - 3600, exp: now - 60 } }],
      ['no sid', { claims: { sid: undefined } }],
      // Shapes a query would choke on (PostgreSQL's 22P02) must be refused before any.
      ['a sid that is not a UUID', { claims: { sid: 'not-a-uuid' } }],
      ['a sid that is a number', { claims: { sid: 42 } }],
      ['a sub that is not a UUID', { claims: { sub: 'admin' } }],
      ['a client token whose sub is not a UUID', { claims: { sid: undefined, role: undefined, sub: 'x', client_id: 'x', scope: 'users:read' } }]
    ]
    for (const [what, change] of wrong) assertRefused(t, await api.withToken(await tokenLike(token, { ...change, key: ourKey })).get('/v1/users/me'), what)
    t.equal((await api.withToken(await tokenLike(token, { key: ourKey })).get('/v1/users/me')).status, 200, 'the control: the same token re-signed by our key is fine')
  })

  t.test('changing one\'s own password needs the current one and ends the other sessions', async (t) => {
    const { api, signUp, admin } = shared
    const body = newUser()
    const { user, api: first, refreshToken } = await signUp(body)
    const second = await login(api, String(body.email), String(body.password))
    const other = api.withToken(second.body.access_token)

    const without = await first.patch(`/v1/users/${user.id}`, { password: 'a new password 1' })
    t.equal(without.status, 403, 'no current_password')
    const wrong = await first.patch(`/v1/users/${user.id}`, { password: 'a new password 1', current_password: 'not it at all' })
    t.equal(wrong.status, 403, 'a wrong current_password')
    t.equal((await login(api, String(body.email), String(body.password))).status, 200, 'nothing changed')

    const changed = await first.patch(`/v1/users/${user.id}`, { password: 'a new password 1', current_password: body.password })
    t.equal(changed.status, 200)
    t.equal((await first.get('/v1/users/me')).status, 200, 'the caller\'s own session stays')
    assertRefused(t, await other.get('/v1/users/me'), 'another session\'s access token')
    assertGrantRefused(t, await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: second.body.refresh_token }), 'another session\'s refresh token')
    t.equal((await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken })).status, 200, 'the caller\'s refresh token still works')

    const third = await login(api, String(body.email), 'a new password 1')
    t.equal((await admin.patch(`/v1/users/${user.id}`, { password: 'set by an admin 1' })).status, 200, 'an admin needs no current password')
    assertRefused(t, await api.withToken(third.body.access_token).get('/v1/users/me'), 'after an admin reset, the user\'s sessions')
    assertRefused(t, await first.get('/v1/users/me'), 'every one of them')
  })

  t.test('a disabled user: sessions end at once, a login is a 403 only after the right password', async (t) => {
    const { api, signUp, admin } = shared
    const body = newUser()
    const { user, api: userApi, refreshToken } = await signUp(body)
    t.equal((await userApi.patch(`/v1/users/${user.id}`, { status: 'disabled' })).status, 403, 'users cannot set a status')
    t.equal((await userApi.patch(`/v1/users/${user.id}`, { status: 'active' })).status, 200, 'asking for the status one has changes nothing')
    const disabled = await admin.patch(`/v1/users/${user.id}`, { status: 'disabled' })
    t.equal(disabled.status, 200)
    t.equal(disabled.body.status, 'disabled')
    assertRefused(t, await userApi.get('/v1/users/me'), 'the disabled user\'s access token')
    assertGrantRefused(t, await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken }), 'the disabled user\'s refresh token')
    const rightPassword = await login(api, String(body.email), String(body.password))
    t.equal(rightPassword.status, 403)
    t.equal(rightPassword.body.type, '/problems/forbidden')
    assertGrantRefused(t, await login(api, String(body.email), 'a wrong password'), 'a wrong password, as for anyone')

    t.equal((await admin.patch(`/v1/users/${user.id}`, { status: 'active' })).status, 200)
    assertRefused(t, await userApi.get('/v1/users/me'), 'enabling does not bring old sessions back')
    t.equal((await login(api, String(body.email), String(body.password))).status, 200, 'but logging in works again')
  })

  t.test('a deleted user\'s refresh token is refused', async (t) => {
    const { api, signUp } = shared
    const { user, api: userApi, refreshToken } = await signUp()
    t.equal((await userApi.delete(`/v1/users/${user.id}`)).status, 204)
    assertGrantRefused(t, await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken }), 'after deletion')
  })

  t.test('sessions: listed and ended by the user themself or an admin', async (t) => {
    const { api, signUp, admin } = shared
    const body = newUser()
    const { user, api: first, token } = await signUp(body)
    const second = await api.request({ method: 'POST', url: '/v1/auth/token', payload: { email: body.email, password: body.password }, headers: { 'user-agent': 'second-device/1.0' } })
    const listed = await first.get(`/v1/users/${user.id}/sessions`)
    t.equal(listed.status, 200)
    t.equal(listed.body.data.length, 2)
    t.same(listed.body.data.map((session: { current: boolean }) => session.current), [false, true], 'newest first; the caller\'s own is current')
    t.equal(listed.body.data[0].user_agent, 'second-device/1.0')
    t.equal(listed.body.data[1].id, decodePart(token, 1).sid)

    const stranger = await signUp()
    t.equal((await stranger.api.get(`/v1/users/${user.id}/sessions`)).status, 403)
    t.equal((await stranger.api.delete(`/v1/users/${user.id}/sessions`)).status, 403)
    t.equal((await admin.get('/v1/users/00000000-0000-7000-8000-000000000000/sessions')).status, 404)

    const secondId = listed.body.data[0].id
    t.equal((await first.delete(`/v1/users/${user.id}/sessions/${secondId}`)).status, 204)
    assertRefused(t, await api.withToken(second.body.access_token).get('/v1/users/me'), 'the ended session')
    t.equal((await first.delete(`/v1/users/${user.id}/sessions/${secondId}`)).status, 404, 'already ended')
    t.equal((await stranger.api.delete(`/v1/users/${stranger.user.id}/sessions/${listed.body.data[1].id}`)).status, 404, 'not one of theirs')
    t.equal((await first.get('/v1/users/me')).status, 200, 'the other one goes on')

    t.equal((await admin.delete(`/v1/users/${user.id}/sessions`)).status, 204)
    assertRefused(t, await first.get('/v1/users/me'), 'after everything ended')
    t.same((await admin.get(`/v1/users/${user.id}/sessions`)).body.data, [])
  })

  t.test('a stock JOSE library that knows only the JWKS URL verifies the tokens', async (t) => {
    const { api, signUp } = shared
    const overHttp = await api.overHttp()
    const { token } = await signUp()
    const address = api.app.server.address() as { port: number }
    const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${address.port}/.well-known/jwks.json`))
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: 'users-service', audience: 'users-service', typ: 'at+jwt' })
    t.equal(protectedHeader.alg, 'EdDSA')
    t.equal(payload.sub, decodePart(token, 1).sub)
    t.equal((await overHttp.get('/.well-known/jwks.json')).status, 200)
  })
})

t.test('rotation: a new key in front signs, tokens of the old key verify until it is dropped', async (t) => {
  const [oldSet, rotated] = [TEST_SIGNING_KEYS, JSON.stringify(await prependNewKey(TEST_SIGNING_KEYS))]
  const retired = JSON.stringify({ keys: [JSON.parse(rotated).keys[0]] })
  const directory = await t.testdirName
  const settings = { url: undefined, pgliteDataDir: `${directory}-pglite`, poolMax: 1 }
  t.teardown(async () => { const { rm } = await import('node:fs/promises'); await rm(settings.pgliteDataDir, { recursive: true, force: true }) })

  async function restartWith (keys: string): Promise<TestApp> {
    const app = await buildTestApp(t, settings, { JWT_SIGNING_KEYS: keys })
    return app
  }
  let running = await restartWith(oldSet)
  const oldToken = (await login(running.api, ADMIN.email, ADMIN.password)).body.access_token as string
  await running.app.close()

  running = await restartWith(rotated)
  t.equal((await running.api.withToken(oldToken).get('/v1/users/me')).status, 200, 'a token of the old key still verifies')
  const newToken = (await login(running.api, ADMIN.email, ADMIN.password)).body.access_token as string
  t.equal(decodePart(newToken, 0).kid, JSON.parse(rotated).keys[0].kid, 'new tokens carry the new key\'s kid')
  t.same((await running.api.get('/.well-known/jwks.json')).body.keys.map((key: { kid: string }) => key.kid), JSON.parse(rotated).keys.map((key: { kid: string }) => key.kid), 'both are published')
  const published = createLocalJWKSet((await running.api.get('/.well-known/jwks.json')).body)
  await t.resolves(jwtVerify(oldToken, published, { typ: 'at+jwt' }), 'other services verify both from the JWKS')
  await running.app.close()

  running = await restartWith(retired)
  assertRefused(t, await running.api.withToken(oldToken).get('/v1/users/me'), 'once the old key is dropped, its tokens')
  t.equal((await running.api.withToken(newToken).get('/v1/users/me')).status, 200, 'the new key\'s tokens verify')
})

t.test('an ES256 key set works too', async (t) => {
  const keys = JSON.stringify(await prependNewKey(undefined, 'ES256'))
  const { admin, api } = await buildTestApp(t, await memoryDatabase(), { JWT_SIGNING_KEYS: keys })
  t.equal((await admin.get('/v1/users/me')).status, 200)
  const jwks = (await api.get('/.well-known/jwks.json')).body
  t.match(jwks.keys[0], { kty: 'EC', crv: 'P-256', alg: 'ES256', x: String, y: String })
})

t.test('replicas sharing PostgreSQL refuse an ended session or a disabled user without waiting for their cache', { skip: testDatabases.find((database) => database.name === 'postgres')!.unavailable }, async (t) => {
  const settings = await testDatabases.find((database) => database.name === 'postgres')!.create(t)
  const replicaA = await buildTestApp(t, settings)
  const replicaB = await buildTestApp(t, settings)

  async function refusedOnB (token: string): Promise<boolean> {
    // Generous: the notice usually arrives within milliseconds; the cache would keep the answer for 30 s.
    const last = await until(() => replicaB.api.withToken(token).get('/v1/users/me'), (response) => response.status === 401, 10_000)
    return last.status === 401
  }

  const loggedOut = await replicaA.signUp()
  t.equal((await replicaB.api.withToken(loggedOut.token).get('/v1/users/me')).status, 200, 'replica B has remembered the session')
  t.equal((await replicaA.api.post('/v1/auth/revoke', { token: loggedOut.refreshToken })).status, 200, 'logout through replica A')
  t.ok(await refusedOnB(loggedOut.token), 'replica B refuses the ended session')

  const disabled = await replicaA.signUp()
  t.equal((await replicaB.api.withToken(disabled.token).get('/v1/users/me')).status, 200)
  t.equal((await replicaA.admin.patch(`/v1/users/${disabled.user.id}`, { status: 'disabled' })).status, 200, 'disabled through replica A')
  t.ok(await refusedOnB(disabled.token), 'replica B refuses the disabled user')
})
