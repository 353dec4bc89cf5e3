/**
 * Machine clients getting tokens (RFC 6749 §4.4) with each of their authentication
 * methods, the OAuth errors when they fail, and what their tokens may do.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey } from 'jose'
import { and, eq } from 'drizzle-orm'
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { deleteExpiredAssertions } from '../../src/clients/authentication.ts'
import { clientAssertions, events } from '../../src/db/schema.ts'
import { buildTestApp, newUser, type Api, type ApiResponse, type TestApp } from '../helpers/app.ts'
import { forEachDatabase, testDatabases } from '../helpers/databases.ts'
import { until } from '../helpers/wait.ts'

const TOKEN = '/v1/auth/token'
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** RFC 6749 §2.3.1: each part form-urlencoded, then joined and base64-encoded. */
function basic (id: string, secret: string): Record<string, string> {
  const encode = (text: string): string => new URLSearchParams({ x: text }).toString().slice(2)
  return { authorization: `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}` }
}

function form (members: Record<string, string>): string {
  return new URLSearchParams(members).toString()
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

function assertOAuthError (t: Test, response: ApiResponse, status: number, error: string, what: string): void {
  t.equal(response.status, status, `${what}: ${status}`)
  t.match(response.headers['content-type'], /^application\/json/, `${what}: application/json`)
  t.match(response.body, { error, error_description: String, type: String, status, request_id: String }, `${what}: ${error}, with the problem members`)
}

/** Every secret this file was given: none may appear in a log line. */
const secrets: string[] = []

async function registerClient (admin: Api, body: Record<string, unknown>): Promise<{ id: string, secret: string }> {
  const created = await admin.post('/v1/clients', { name: `client-${randomUUID()}`, ...body })
  if (created.body.client_secret !== undefined) secrets.push(created.body.client_secret)
  return { id: created.body.id, secret: created.body.client_secret }
}

async function clientToken (api: Api, id: string, secret: string, scope?: string): Promise<ApiResponse> {
  return api.post(TOKEN, form({ grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) }), { ...FORM, ...basic(id, secret) })
}

async function signedAssertion (key: CryptoKey, claims: Record<string, unknown>, alg = 'EdDSA'): Promise<string> {
  return new SignJWT({ jti: randomUUID(), ...claims }).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime('1m').sign(key)
}

forEachDatabase(t, async (t, database) => {
  const shared: TestApp = await buildTestApp(t, await database.create(t))
  const { api, admin, app } = shared

  t.test('a secret\'s last use is noted, at most once a minute', async (t) => {
    const client = await registerClient(admin, { scopes: ['users:read'] })
    const lastUsed = async () => (await admin.get(`/v1/clients/${client.id}`)).body.secrets[0].last_used_at as string | null
    t.equal(await lastUsed(), null, 'never used')
    t.equal((await clientToken(api, client.id, client.secret)).status, 200)
    const first = await lastUsed()
    t.type(first, 'string', 'noted at the first use')
    t.equal((await clientToken(api, client.id, client.secret)).status, 200)
    t.equal(await lastUsed(), first, 'not written again within the minute')
    t.equal((await clientToken(api, client.id, 'not-the-secret')).status, 401, 'a wrong secret is refused')
    t.equal(await lastUsed(), first)
  })

  t.test('client_secret_basic: a token with the client\'s scopes, verifiable from the JWKS', async (t) => {
    const client = await registerClient(admin, { scopes: ['users:read', 'events:read'] })
    const response = await clientToken(api, client.id, client.secret)
    t.equal(response.status, 200)
    t.equal(response.headers['cache-control'], 'no-store')
    t.match(response.body, { token_type: 'Bearer', expires_in: Number, scope: 'users:read events:read' })
    t.notOk('refresh_token' in response.body, 'no refresh token')
    const { payload, protectedHeader } = await jwtVerify(response.body.access_token, createLocalJWKSet(app.publicJwks as never), { issuer: 'users-service', audience: 'users-service', typ: 'at+jwt' })
    t.equal(protectedHeader.typ, 'at+jwt')
    t.match(payload, { sub: client.id, client_id: client.id, scope: 'users:read events:read', jti: String, iat: Number, exp: Number })
    t.notOk('sid' in payload || 'role' in payload, 'no session, no role')

    const narrow = await clientToken(api, client.id, client.secret, 'events:read')
    t.equal(narrow.body.scope, 'events:read', 'a subset when asked')
    assertOAuthError(t, await clientToken(api, client.id, client.secret, 'users:write'), 400, 'invalid_scope', 'a scope the client lacks')
    assertOAuthError(t, await clientToken(api, client.id, client.secret, 'users:everything'), 400, 'invalid_scope', 'an unknown scope')
  })

  t.test('client authentication fails as invalid_client, with a Basic challenge after Basic', async (t) => {
    const client = await registerClient(admin, { scopes: ['users:read'] })
    const wrong = await clientToken(api, client.id, 'not the secret')
    assertOAuthError(t, wrong, 401, 'invalid_client', 'a wrong secret')
    t.equal(wrong.headers['www-authenticate'], 'Basic realm="users-service"')
    assertOAuthError(t, await clientToken(api, randomUUID(), client.secret), 401, 'invalid_client', 'an unknown client')
    assertOAuthError(t, await clientToken(api, 'not-a-uuid', client.secret), 401, 'invalid_client', 'a client id that is no UUID')
    for (const [what, header] of [['bad base64', 'Basic %%%not-base64'], ['no colon', `Basic ${Buffer.from('justanid').toString('base64')}`], ['bad percent-encoding', `Basic ${Buffer.from(`${client.id}:%E0%A4%A`).toString('base64')}`], ['empty', 'Basic ']] as const) {
      const response = await api.post(TOKEN, form({ grant_type: 'client_credentials' }), { ...FORM, authorization: header })
      assertOAuthError(t, response, 401, 'invalid_client', what)
      t.equal(response.headers['www-authenticate'], 'Basic realm="users-service"', `${what}: challenged`)
    }
    const posted = await api.post(TOKEN, form({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }), FORM)
    assertOAuthError(t, posted, 401, 'invalid_client', 'the right secret by another method than the registered one')
    t.equal(posted.headers['www-authenticate'], undefined, 'no Basic challenge when Basic was not tried')
    assertOAuthError(t, await api.post(TOKEN, form({ grant_type: 'client_credentials' }), FORM), 401, 'invalid_client', 'no client authentication at all')
    assertOAuthError(t, await api.post(TOKEN, form({ grant_type: 'client_credentials', client_secret: client.secret }), { ...FORM, ...basic(client.id, client.secret) }), 400, 'invalid_request', 'two methods at once')
  })

  t.test('client_secret_post, and ids and secrets that need form-encoding', async (t) => {
    const client = await registerClient(admin, { scopes: ['users:read'], auth_method: 'client_secret_post' })
    const response = await api.post(TOKEN, { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret })
    t.equal(response.status, 200, 'in a JSON body')
    t.equal((await api.post(TOKEN, form({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }), FORM)).status, 200, 'in a form')
    assertOAuthError(t, await clientToken(api, client.id, client.secret), 401, 'invalid_client', 'Basic for a post client')
  })

  t.test('the other grants and bad requests get RFC 6749 errors', async (t) => {
    const client = await registerClient(admin, { scopes: ['users:read'] })
    const { email, password } = newUser()
    await api.post('/v1/users', { email, name: 'Ada', password })
    assertOAuthError(t, await api.post(TOKEN, form({ grant_type: 'password', username: String(email), password: String(password) }), { ...FORM, ...basic(client.id, client.secret) }), 400, 'unauthorized_client', 'a client with the password grant')
    assertOAuthError(t, await api.post(TOKEN, form({ grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) }), { ...FORM, ...basic(client.id, client.secret) }), 400, 'unauthorized_client', 'a client with the refresh grant')
    t.equal((await api.post(TOKEN, form({ grant_type: 'password', username: String(email), password: String(password), client_id: 'swagger-ui' }), FORM)).status, 200, 'a bare client_id (a public client) is no client authentication')
    assertOAuthError(t, await api.post(TOKEN, form({ grant_type: 'authorization_code', code: 'x' }), FORM), 400, 'unsupported_grant_type', 'an unknown grant')
    assertOAuthError(t, await api.post(TOKEN, 'grant_type=client_credentials&grant_type=password', FORM), 400, 'invalid_request', 'a repeated parameter')
    assertOAuthError(t, await api.post(TOKEN, { grant_type: 'password', email }), 400, 'invalid_request', 'a missing parameter')
    assertOAuthError(t, await api.post(TOKEN, { grant_type: 'password', email, password: 'wrong password' }), 401, 'invalid_grant', 'a wrong password')
    assertOAuthError(t, await api.post(TOKEN, '{"grant_type":', { 'content-type': 'application/json' }), 400, 'invalid_request', 'malformed JSON')
  })

  t.test('secrets rotate with an overlap, and stop at once when deleted or expired', async (t) => {
    const client = await registerClient(admin, { scopes: [] })
    const next = (await admin.post(`/v1/clients/${client.id}/secrets`, {})).body
    t.equal((await clientToken(api, client.id, client.secret)).status, 200, 'the old secret works during the overlap')
    t.equal((await clientToken(api, client.id, next.client_secret)).status, 200, 'and the new one')
    const third = (await admin.post(`/v1/clients/${client.id}/secrets`, { previous_expires_in: 0 })).body
    assertOAuthError(t, await clientToken(api, client.id, client.secret), 401, 'invalid_client', 'a secret past its rotation window')
    assertOAuthError(t, await clientToken(api, client.id, next.client_secret), 401, 'invalid_client', 'the second, also ended')
    t.equal((await clientToken(api, client.id, third.client_secret)).status, 200)
    t.equal((await admin.delete(`/v1/clients/${client.id}/secrets/${third.id as string}`)).status, 204)
    assertOAuthError(t, await clientToken(api, client.id, third.client_secret), 401, 'invalid_client', 'a deleted secret')
    const used = (await admin.get(`/v1/clients/${client.id}`)).body
    t.same(used.secrets, [], 'no live secret left')
  })

  t.test('what a client token may do is what its scopes say, nothing more', async (t) => {
    const reader = await registerClient(admin, { scopes: ['users:read'] })
    const asReader = api.withToken((await clientToken(api, reader.id, reader.secret)).body.access_token)
    t.equal((await asReader.get('/v1/users')).status, 200, 'users:read lists users')
    const someone = (await api.post('/v1/users', newUser())).body
    t.equal((await asReader.get(`/v1/users/${someone.id as string}`)).status, 200, 'and reads one')
    t.equal((await asReader.get(`/v1/users/${someone.id as string}/sessions`)).status, 200, 'and their sessions')
    const refused = await asReader.patch(`/v1/users/${someone.id as string}`, { name: 'Changed' })
    t.equal(refused.status, 403)
    t.equal(refused.body.type, '/problems/insufficient-scope')
    t.match(refused.headers['www-authenticate'], /^Bearer realm="users-service", error="insufficient_scope", scope="users:write"$/)
    const events403 = await asReader.get('/v1/events')
    t.match(events403.headers['www-authenticate'], /scope="events:read"/)
    t.equal((await asReader.get('/v1/users/me')).status, 403, '/v1/users/me is for people')
    t.equal((await asReader.get('/v1/clients')).status, 403, 'the client endpoints are for people')

    const writer = await registerClient(admin, { scopes: ['users:write'] })
    const asWriter = api.withToken((await clientToken(api, writer.id, writer.secret)).body.access_token)
    const created = await asWriter.post('/v1/users', { ...newUser(), role: 'admin' })
    t.equal(created.status, 201, 'users:write creates users, with a role')
    t.equal((await asWriter.patch(`/v1/users/${created.body.id as string}`, { status: 'disabled', password: 'a new password 1' })).status, 200, 'and sets a status and a password without current_password')
    const [event] = await app.db.select().from(events).where(and(eq(events.subject, created.body.id), eq(events.type, 'users.user.created')))
    t.match(event, { type: 'users.user.created', actor: writer.id, actorType: 'client' }, 'recorded as the client\'s change')
    t.equal((await asWriter.get(`/v1/users/${created.body.id as string}`)).status, 403, 'users:write does not read')
    t.equal((await asWriter.delete(`/v1/users/${created.body.id as string}`)).status, 204, 'and deletes')
  })

  t.test('a disabled or deleted client\'s tokens are refused at once, and it gets no new ones', async (t) => {
    const client = await registerClient(admin, { scopes: ['users:read'] })
    const token = (await clientToken(api, client.id, client.secret)).body.access_token
    const asClient = api.withToken(token)
    t.equal((await asClient.get('/v1/users')).status, 200)
    t.equal((await admin.patch(`/v1/clients/${client.id}`, { status: 'disabled' })).status, 200)
    t.equal((await asClient.get('/v1/users')).status, 401, 'its token is refused')
    assertOAuthError(t, await clientToken(api, client.id, client.secret), 401, 'invalid_client', 'a disabled client')
    t.equal((await admin.patch(`/v1/clients/${client.id}`, { status: 'active', scopes: ['events:read'] })).status, 200)
    t.equal((await asClient.get('/v1/users')).status, 403, 'enabled again, but the scope taken away stays away')
    t.equal((await admin.delete(`/v1/clients/${client.id}`)).status, 204)
    t.equal((await asClient.get('/v1/events')).status, 401, 'a deleted client\'s token')
  })

  t.test('private_key_jwt: assertions signed with the client\'s keys, each used once', async (t) => {
    const ed = await generateKeyPair('EdDSA', { extractable: true })
    const ec = await generateKeyPair('ES256', { extractable: true })
    const client = await registerClient(admin, { scopes: ['users:read'], auth_method: 'private_key_jwt', jwks: { keys: [{ ...await exportJWK(ed.publicKey), alg: 'EdDSA' }, await exportJWK(ec.publicKey)] } })
    const claims = { iss: client.id, sub: client.id, aud: 'users-service' }
    const send = (assertion: string) => api.post(TOKEN, form({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }), FORM)

    const assertion = await signedAssertion(ed.privateKey, claims)
    t.equal((await send(assertion)).status, 200, 'EdDSA')
    assertOAuthError(t, await send(assertion), 401, 'invalid_client', 'the same jti again')
    t.equal((await send(await signedAssertion(ed.privateKey, claims, 'Ed25519'))).status, 200, 'RFC 9864\'s Ed25519 label, though the key says EdDSA')
    t.equal((await send(await signedAssertion(ec.privateKey, claims, 'ES256'))).status, 200, 'ES256')
    assertOAuthError(t, await send(await signedAssertion(ed.privateKey, { ...claims, aud: 'http://localhost:80/v1/auth/token' })), 401, 'invalid_client', 'a token endpoint URL made of the request\'s Host: without PUBLIC_URL only the issuer will do')

    const stranger = await generateKeyPair('EdDSA')
    const cases: Array<[string, Promise<string>]> = [
      ['another key', signedAssertion(stranger.privateKey, claims)],
      ['the wrong aud', signedAssertion(ed.privateKey, { ...claims, aud: 'https://elsewhere.example/token' })],
      ['the wrong iss', signedAssertion(ed.privateKey, { ...claims, iss: randomUUID() })],
      ['iss differs from sub', signedAssertion(ed.privateKey, { ...claims, sub: randomUUID() })],
      ['exp too far ahead', new SignJWT({ ...claims, jti: randomUUID() }).setProtectedHeader({ alg: 'EdDSA' }).setIssuedAt().setExpirationTime('10m').sign(ed.privateKey)],
      ['expired', new SignJWT({ ...claims, jti: randomUUID() }).setProtectedHeader({ alg: 'EdDSA' }).setIssuedAt(Math.floor(Date.now() / 1000) - 600).setExpirationTime(Math.floor(Date.now() / 1000) - 300).sign(ed.privateKey)],
      ['no jti', new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA' }).setExpirationTime('1m').sign(ed.privateKey)],
      ['a jti too long to keep', signedAssertion(ed.privateKey, { ...claims, jti: 'x'.repeat(3000) })],
      ['a jti with NUL', signedAssertion(ed.privateKey, { ...claims, jti: 'a\u0000b' })],
      ['HS256 with a public key as the secret', new SignJWT({ ...claims, jti: randomUUID() }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1m').sign(new TextEncoder().encode(JSON.stringify(await exportJWK(ed.publicKey))))],
      ['alg none', Promise.resolve(`${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, jti: randomUUID(), exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url')}.`)],
      ['not a JWT', Promise.resolve('not-a-jwt')]
    ]
    for (const [what, made] of cases) assertOAuthError(t, await send(await made), 401, 'invalid_client', what)
    assertOAuthError(t, await api.post(TOKEN, form({ grant_type: 'client_credentials', client_assertion_type: 'urn:other', client_assertion: await signedAssertion(ed.privateKey, claims) }), FORM), 400, 'invalid_request', 'another assertion type')
    const secretClient = await registerClient(admin, { scopes: [] })
    const forSecretClient = { iss: secretClient.id, sub: secretClient.id, aud: 'users-service' }
    assertOAuthError(t, await send(await signedAssertion(ed.privateKey, forSecretClient)), 401, 'invalid_client', 'an assertion for a client registered with a secret')

    await app.db.insert(clientAssertions).values([{ clientId: client.id, jti: 'long-expired', expiresAt: new Date(Date.now() - 2 * 3600_000) }, { clientId: client.id, jti: 'just-expired', expiresAt: new Date(Date.now() - 60_000) }])
    const before = await app.db.select().from(clientAssertions).where(eq(clientAssertions.clientId, client.id))
    t.equal(await deleteExpiredAssertions(app.db, 100), 1, 'housekeeping forgets the jtis an hour past their exp, not sooner: clocks differ')
    const after = await app.db.select().from(clientAssertions).where(eq(clientAssertions.clientId, client.id))
    t.same(after.map((row) => row.jti).sort(), before.filter((row) => row.jti !== 'long-expired').map((row) => row.jti).sort(), 'and keeps the live ones')
  })

  // Last, after every request above: secrets in Basic headers, form bodies and JSON bodies.
  t.test('no client secret reaches a log line', async (t) => {
    const logged = shared.logs.raw.join('\n')
    t.ok(secrets.length > 5 && logged.length > 0, `${secrets.length} secrets, ${shared.logs.raw.length} log lines`)
    t.same(secrets.filter((secret) => logged.includes(secret)), [])
  })
})

t.test('a jti is accepted once across replicas sharing PostgreSQL', { skip: testDatabases.find((database) => database.name === 'postgres')!.unavailable }, async (t) => {
  const settings = await testDatabases.find((database) => database.name === 'postgres')!.create(t)
  const replicaA = await buildTestApp(t, settings)
  const replicaB = await buildTestApp(t, settings)
  const key = await generateKeyPair('EdDSA', { extractable: true })
  const client = await registerClient(replicaA.admin, { scopes: ['users:read'], auth_method: 'private_key_jwt', jwks: { keys: [await exportJWK(key.publicKey)] } })
  const assertion = await signedAssertion(key.privateKey, { iss: client.id, sub: client.id, aud: 'users-service' })
  const send = (replica: TestApp) => replica.api.post(TOKEN, form({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }), FORM)
  const statuses = (await Promise.all([send(replicaA), send(replicaB), send(replicaA), send(replicaB)])).map((response) => response.status).sort()
  t.same(statuses, [200, 401, 401, 401], 'one replica accepts it, every other attempt is refused')

  const secretClient = await registerClient(replicaA.admin, { scopes: ['users:read'] })
  const token = (await clientToken(replicaA.api, secretClient.id, secretClient.secret)).body.access_token
  t.equal((await replicaB.api.withToken(token).get('/v1/users')).status, 200, 'replica B remembers the client')
  t.equal((await replicaA.admin.patch(`/v1/clients/${secretClient.id}`, { status: 'disabled' })).status, 200, 'disabled through replica A')
  const last = await until(() => replicaB.api.withToken(token).get('/v1/users'), (response) => response.status === 401, 10_000)
  t.equal(last.status, 401, 'replica B refuses the disabled client\'s token')
})
