/**
 * API keys as bearer credentials, and RFC 7662 introspection of every kind of credential.
 */
import { eq } from 'drizzle-orm'
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { apiKeys } from '../../src/db/schema.ts'
import { buildTestApp, type Api, type TestApp } from '../helpers/app.ts'
import { forEachDatabase, testDatabases } from '../helpers/databases.ts'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

function basic (id: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` }
}

async function clientWithKey (admin: Api, scopes: string[], keyScopes?: string[]): Promise<{ id: string, secret: string, key: string, keyId: string }> {
  const client = (await admin.post('/v1/clients', { name: `client-${randomUUID()}`, scopes })).body
  const key = (await admin.post(`/v1/clients/${client.id as string}/api-keys`, { name: 'key', ...(keyScopes === undefined ? {} : { scopes: keyScopes }) })).body
  return { id: client.id, secret: client.client_secret, key: key.key, keyId: key.id }
}

forEachDatabase(t, async (t, database) => {
  const shared: TestApp = await buildTestApp(t, await database.create(t))
  const { api, admin, app, signUp } = shared

  t.test('an API key acts as its client, with its own scopes', async (t) => {
    const client = await clientWithKey(admin, ['users:read', 'events:read'], ['users:read'])
    const asKey = api.withToken(client.key)
    t.equal((await asKey.get('/v1/users')).status, 200)
    const refused = await asKey.get('/v1/events')
    t.equal(refused.status, 403, 'not the client\'s other scopes')
    t.match(refused.headers['www-authenticate'], /error="insufficient_scope", scope="events:read"/)
    t.equal((await asKey.get('/v1/users/me')).status, 403)
    t.equal((await api.withToken(`${client.key}x`).get('/v1/users')).status, 401, 'a key one character off')
    t.equal((await api.withToken('usk_unknown').get('/v1/users')).status, 401, 'an unknown key')
    const used = (await admin.get(`/v1/clients/${client.id}/api-keys`)).body.data[0]
    t.type(used.last_used_at, 'string', 'its use is noted')
  })

  t.test('a key is refused past expires_at, for a disabled client, after deletion, beyond a shrunk client', async (t) => {
    const expiring = await clientWithKey(admin, ['users:read'])
    t.equal((await api.withToken(expiring.key).get('/v1/users')).status, 200)
    await app.db.update(apiKeys).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(apiKeys.id, expiring.keyId))
    app.accessChanges.clientChanged(expiring.id)
    t.equal((await api.withToken(expiring.key).get('/v1/users')).status, 401, 'past expires_at')

    const disabled = await clientWithKey(admin, ['users:read'])
    t.equal((await api.withToken(disabled.key).get('/v1/users')).status, 200)
    await admin.patch(`/v1/clients/${disabled.id}`, { status: 'disabled' })
    t.equal((await api.withToken(disabled.key).get('/v1/users')).status, 401, 'a disabled client\'s key')

    const deleted = await clientWithKey(admin, ['users:read'])
    t.equal((await api.withToken(deleted.key).get('/v1/users')).status, 200)
    await admin.delete(`/v1/clients/${deleted.id}/api-keys/${deleted.keyId}`)
    t.equal((await api.withToken(deleted.key).get('/v1/users')).status, 401, 'a deleted key')

    const gone = await clientWithKey(admin, ['users:read'])
    t.equal((await api.withToken(gone.key).get('/v1/users')).status, 200)
    await admin.delete(`/v1/clients/${gone.id}`)
    t.equal((await api.withToken(gone.key).get('/v1/users')).status, 401, 'a deleted client\'s key')

    const shrunk = await clientWithKey(admin, ['users:read', 'events:read'])
    t.equal((await api.withToken(shrunk.key).get('/v1/events')).status, 200)
    await admin.patch(`/v1/clients/${shrunk.id}`, { scopes: ['users:read'] })
    t.equal((await api.withToken(shrunk.key).get('/v1/events')).status, 403, 'a scope the client lost')
    await admin.patch(`/v1/clients/${shrunk.id}`, { scopes: ['users:read', 'events:read'] })
    t.equal((await api.withToken(shrunk.key).get('/v1/events')).status, 403, 'and does not regain with it')
  })

  t.test('introspection tells what is active now, to clients holding tokens:introspect', async (t) => {
    const introspector = await clientWithKey(admin, ['tokens:introspect'])
    const introspect = (token: string) => api.post('/v1/auth/introspect', new URLSearchParams({ token }).toString(), { ...FORM, ...basic(introspector.id, introspector.secret) })

    const person = await signUp()
    const personAnswer = await introspect(person.token)
    t.equal(personAnswer.status, 200)
    t.equal(personAnswer.headers['cache-control'], 'no-store')
    t.match(personAnswer.body, { active: true, token_type: 'Bearer', sub: person.user.id, sid: String, role: 'user', amr: ['pwd'], acr: 'aal1', iss: 'users-service', aud: 'users-service', exp: Number, iat: Number, jti: String })
    t.notOk('client_id' in personAnswer.body)

    const reader = await clientWithKey(admin, ['users:read', 'events:read'], ['users:read'])
    const token = (await api.post('/v1/auth/token', 'grant_type=client_credentials&scope=users%3Aread', { ...FORM, ...basic(reader.id, reader.secret) })).body.access_token
    t.match((await introspect(token)).body, { active: true, sub: reader.id, client_id: reader.id, scope: 'users:read', exp: Number, iat: Number, jti: String })
    const keyAnswer = (await introspect(reader.key)).body
    t.match(keyAnswer, { active: true, sub: reader.id, client_id: reader.id, scope: 'users:read', jti: reader.keyId, iat: Number })
    t.notOk('exp' in keyAnswer, 'a key without expires_at has no exp')

    t.same((await introspect('garbage')).body, { active: false }, 'garbage')
    t.same((await introspect(`${token.slice(0, -4)}AAAA`)).body, { active: false }, 'a forged signature')
    await api.post('/v1/auth/revoke', { token: person.refreshToken })
    t.same((await introspect(person.token)).body, { active: false }, 'a revoked session')
    await admin.delete(`/v1/clients/${reader.id}/api-keys/${reader.keyId}`)
    t.same((await introspect(reader.key)).body, { active: false }, 'a deleted key')
    await admin.patch(`/v1/clients/${reader.id}`, { status: 'disabled' })
    t.same((await introspect(token)).body, { active: false }, 'a disabled client\'s token')

    const noScope = await clientWithKey(admin, ['users:read'])
    const refused = await api.post('/v1/auth/introspect', new URLSearchParams({ token }).toString(), { ...FORM, ...basic(noScope.id, noScope.secret) })
    t.equal(refused.status, 403)
    t.match(refused.body, { error: 'insufficient_scope', type: '/problems/insufficient-scope' })
    const anonymous = await api.post('/v1/auth/introspect', { token })
    t.equal(anonymous.status, 401)
    t.equal(anonymous.body.error, 'invalid_client')
    const wrong = await api.post('/v1/auth/introspect', { token }, basic(introspector.id, 'wrong'))
    t.equal(wrong.status, 401)
    t.equal(wrong.headers['www-authenticate'], 'Basic realm="users-service"')
    t.equal((await api.post('/v1/auth/introspect', {}, basic(introspector.id, introspector.secret))).body.error, 'invalid_request', 'no token')
  })

  t.test('the metadata tells OAuth clients what they need', async (t) => {
    const metadata = (await api.get('/.well-known/oauth-authorization-server')).body
    t.match(metadata, {
      issuer: 'users-service',
      introspection_endpoint: 'http://localhost:3000/v1/auth/introspect',
      grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      scopes_supported: ['users:read', 'users:write', 'users:import', 'events:read', 'scim', 'tokens:introspect']
    })
    for (const method of ['client_secret_basic', 'client_secret_post', 'private_key_jwt']) t.ok(metadata.token_endpoint_auth_methods_supported.includes(method), method)
  })
})

t.test('with a URL issuer with a path, the metadata is where RFC 8414 §3.1 puts it, on the issuer\'s origin', async (t) => {
  const { app } = await buildTestApp(t, await testDatabases[0]!.create(t), { JWT_ISSUER: 'https://id.example.com/tenant' })
  for (const path of ['/.well-known/oauth-authorization-server/tenant', '/.well-known/oauth-authorization-server']) {
    const response = await app.inject({ url: path })
    t.equal(response.statusCode, 200, path)
    t.match(response.json(), { issuer: 'https://id.example.com/tenant', token_endpoint: 'https://id.example.com/v1/auth/token', introspection_endpoint: 'https://id.example.com/v1/auth/introspect' }, `${path}: absolute URLs on the issuer's origin`)
  }
})
