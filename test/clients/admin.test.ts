/**
 * The admin API of machine clients: registering, reading, changing and deleting them,
 * their secrets and API keys; what it refuses and that no secret ever comes back.
 */
import { generateKeyPair, exportJWK } from 'jose'
import t from 'tap'
import { events } from '../../src/db/schema.ts'
import { buildTestApp } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

async function publicJwk (alg: 'EdDSA' | 'ES256'): Promise<Record<string, unknown>> {
  const { publicKey } = await generateKeyPair(alg, { extractable: true })
  return { ...await exportJWK(publicKey), kid: `${alg}-key` }
}

async function privateJwk (): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true })
  return exportJWK(privateKey)
}

forEachDatabase(t, async (t, database) => {
  // One app per database: the subtests' clients have names of their own.
  const shared = await buildTestApp(t, await database.create(t))
  t.test('a client is registered, read, listed, changed and deleted by an admin', async (t) => {
    const { app, admin } = shared
    const created = await admin.post('/v1/clients', { name: 'billing', scopes: ['users:read', 'users:read'] })
    t.equal(created.status, 201)
    t.match(created.body, { name: 'billing', scopes: ['users:read'], auth_method: 'client_secret_basic', status: 'active' })
    t.match(created.body.client_secret, /^[A-Za-z0-9_-]{43}$/, 'a secret of 256 bits, shown once')
    t.equal(created.body.secrets.length, 1)
    t.equal(created.headers.location, `/v1/clients/${created.body.id}`)
    const id = created.body.id as string

    const read = await admin.get(`/v1/clients/${id}`)
    t.equal(read.status, 200)
    t.notOk('client_secret' in read.body, 'the secret is not shown again')
    t.equal(read.headers.etag, created.headers.etag)
    t.notOk(JSON.stringify(read.body).includes(created.body.client_secret))

    t.equal((await admin.patch(`/v1/clients/${id}`, { name: 'billing-v2' }, { 'if-match': '"999"' })).status, 412, 'a stale If-Match')
    const changed = await admin.patch(`/v1/clients/${id}`, { name: 'billing-v2', scopes: ['users:read', 'events:read'] }, { 'if-match': read.headers.etag as string })
    t.equal(changed.status, 200)
    t.match(changed.body, { name: 'billing-v2', scopes: ['users:read', 'events:read'] })
    t.not(changed.headers.etag, read.headers.etag)
    const unchanged = await admin.patch(`/v1/clients/${id}`, { name: 'billing-v2' })
    t.equal(unchanged.headers.etag, changed.headers.etag, 'asking for what it is already changes nothing')

    const other = await admin.post('/v1/clients', { name: 'sync', scopes: ['events:read'] })
    const first = await admin.get('/v1/clients?limit=1')
    t.equal(first.body.data.length, 1)
    t.equal(first.body.data[0].id, id, 'oldest first')
    const second = await admin.get(`/v1/clients?limit=1&cursor=${first.body.next_cursor as string}`)
    t.equal(second.body.data[0].id, other.body.id)
    t.equal(second.body.next_cursor, null)
    t.equal((await admin.get('/v1/clients?cursor=garbage')).status, 400)

    t.equal((await admin.delete(`/v1/clients/${id}`)).status, 204)
    t.equal((await admin.get(`/v1/clients/${id}`)).status, 404)
    t.equal((await admin.delete(`/v1/clients/${id}`)).status, 404)

    const recorded = await app.db.select().from(events)
    const own = recorded.filter((event) => event.subject === id)
    t.same(own.map((event) => event.type), ['users.client.created', 'users.client.updated', 'users.client.deleted'])
    t.ok(own.every((event) => event.actorType === 'user'), 'an admin made them')
    t.notOk(JSON.stringify(recorded).includes(created.body.client_secret), 'no event carries the secret')
  })

  t.test('bad registrations are the documented problems, never a 500', async (t) => {
    const { admin } = shared
    const cases: Array<[string, unknown, number, string | undefined]> = [
      ['an unknown scope', { name: 'a', scopes: ['users:everything'] }, 422, '/scopes/0'],
      ['private_key_jwt without jwks', { name: 'b', scopes: [], auth_method: 'private_key_jwt' }, 422, '/jwks'],
      ['a jwks for a secret client', { name: 'c', scopes: [], jwks: { keys: [await publicJwk('EdDSA')] } }, 422, '/jwks'],
      ['a private key', { name: 'd', scopes: [], auth_method: 'private_key_jwt', jwks: { keys: [await privateJwk()] } }, 422, '/jwks/keys/0/d'],
      ['a symmetric key', { name: 'e', scopes: [], auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, 422, '/jwks/keys/0'],
      ['an RSA key', { name: 'f', scopes: [], auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }] } }, 422, '/jwks/keys/0'],
      ['a broken EC key', { name: 'g', scopes: [], auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }] } }, 422, '/jwks/keys/0'],
      ['an empty name', { name: '  ', scopes: [] }, 422, '/name'],
      ['no scopes member', { name: 'h' }, 422, '/scopes']
    ]
    for (const [what, body, status, pointer] of cases) {
      const response = await admin.post('/v1/clients', body)
      t.equal(response.status, status, what)
      if (pointer !== undefined) t.match(response.body.errors, [{ pointer }], `${what}: names ${pointer}`)
    }
    t.equal((await admin.post('/v1/clients', { name: 'taken', scopes: [] })).status, 201)
    const taken = await admin.post('/v1/clients', { name: 'taken', scopes: [] })
    t.equal(taken.status, 409)
    t.equal(taken.body.type, '/problems/client-name-taken')
    const keyed = await admin.post('/v1/clients', { name: 'keyed', scopes: ['users:read'], auth_method: 'private_key_jwt', jwks: { keys: [await publicJwk('EdDSA'), await publicJwk('ES256')] } })
    t.equal(keyed.status, 201, 'Ed25519 and P-256 public keys are fine')
    t.notOk('client_secret' in keyed.body, 'a private_key_jwt client has no secret')
    t.same(keyed.body.secrets, [])
    const rotation = await admin.post(`/v1/clients/${keyed.body.id as string}/secrets`, {})
    t.equal(rotation.status, 409, 'nor gets one')
    t.equal((await admin.patch(`/v1/clients/${keyed.body.id as string}`, { jwks: { keys: [await privateJwk()] } })).status, 422, 'a private key is refused on change too')
  })

  t.test('secrets rotate with an overlap; a deleted secret is gone at once', async (t) => {
    const { admin } = shared
    const client = (await admin.post('/v1/clients', { name: 'rotating', scopes: [] })).body
    const firstSecretId = client.secrets[0].id as string
    const rotated = await admin.post(`/v1/clients/${client.id as string}/secrets`, { previous_expires_in: 3600 })
    t.equal(rotated.status, 201)
    t.match(rotated.body.client_secret, /^[A-Za-z0-9_-]{43}$/)
    const secrets = (await admin.get(`/v1/clients/${client.id as string}`)).body.secrets as Array<{ id: string, expires_at: string | null }>
    t.equal(secrets.length, 2, 'both live during the overlap')
    const old = secrets.find((secret) => secret.id === firstSecretId)!
    const expiresIn = Date.parse(old.expires_at!) - Date.now()
    t.ok(expiresIn > 3500_000 && expiresIn <= 3600_000, 'the old one expires when asked')
    t.equal(secrets.find((secret) => secret.id === rotated.body.id)!.expires_at, null, 'the new one does not')

    const again = await admin.post(`/v1/clients/${client.id as string}/secrets`, { previous_expires_in: 0 })
    const live = (await admin.get(`/v1/clients/${client.id as string}`)).body.secrets as Array<{ id: string }>
    t.same(live.map((secret) => secret.id), [again.body.id], 'previous_expires_in 0 ends the others at once')
    t.equal((await admin.delete(`/v1/clients/${client.id as string}/secrets/${again.body.id as string}`)).status, 204)
    t.same((await admin.get(`/v1/clients/${client.id as string}`)).body.secrets, [])
    t.equal((await admin.delete(`/v1/clients/${client.id as string}/secrets/${again.body.id as string}`)).status, 404)
    t.equal((await admin.post(`/v1/clients/${client.id as string}/secrets`, { previous_expires_in: -1 })).status, 422)
  })

  t.test('API keys: shown once, never above the client\'s scopes', async (t) => {
    const { admin } = shared
    const client = (await admin.post('/v1/clients', { name: 'integration', scopes: ['users:read', 'events:read'] })).body
    const path = `/v1/clients/${client.id as string}/api-keys`
    const created = await admin.post(path, { name: 'export' })
    t.equal(created.status, 201)
    t.match(created.body.key, /^usk_[A-Za-z0-9_-]{43}$/)
    t.equal(created.body.prefix, created.body.key.slice(0, 12))
    t.same(created.body.scopes, ['users:read', 'events:read'], 'the client\'s scopes by default')
    t.equal((await admin.post(path, { name: 'too much', scopes: ['users:write'] })).status, 422, 'a scope the client lacks')
    t.equal((await admin.post(path, { name: 'past', expires_at: '2020-01-01T00:00:00Z' })).status, 422, 'an expiry in the past')
    t.equal((await admin.post(path, { name: 'leap', expires_at: '2030-12-31T23:59:60Z' })).status, 422, 'a leap second JavaScript cannot hold')
    t.equal((await admin.post(path, { name: 'far', expires_at: '9999-12-31T23:59:59-01:00' })).status, 422, 'the year 10000')
    const listed = await admin.get(path)
    t.equal(listed.body.data.length, 1)
    t.notOk(JSON.stringify(listed.body).includes(created.body.key), 'the key is never listed')

    t.equal((await admin.patch(`/v1/clients/${client.id as string}`, { scopes: ['events:read'] })).status, 200)
    t.same((await admin.get(path)).body.data[0].scopes, ['events:read'], 'shrinking the client shrinks its keys')
    t.equal((await admin.delete(`${path}/${created.body.id as string}`)).status, 204)
    t.same((await admin.get(path)).body.data, [])
    t.equal((await admin.delete(`${path}/${created.body.id as string}`)).status, 404)
    t.equal((await admin.get('/v1/clients/0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8b/api-keys')).status, 404)
  })

  t.test('only admins manage clients; machine clients never do', async (t) => {
    const { admin, api, signUp } = shared
    const { api: person } = await signUp()
    t.equal((await api.get('/v1/clients')).status, 401)
    t.equal((await person.get('/v1/clients')).status, 403)
    t.equal((await person.post('/v1/clients', { name: 'mine', scopes: [] })).status, 403)
    const client = (await admin.post('/v1/clients', { name: 'powerful', scopes: ['users:read', 'users:write', 'events:read'] })).body
    const key = (await admin.post(`/v1/clients/${client.id as string}/api-keys`, { name: 'k' })).body.key as string
    const machine = api.withToken(key)
    for (const [what, response] of [
      ['list', await machine.get('/v1/clients')],
      ['create', await machine.post('/v1/clients', { name: 'child', scopes: [] })],
      ['read itself', await machine.get(`/v1/clients/${client.id as string}`)],
      ['rotate its secret', await machine.post(`/v1/clients/${client.id as string}/secrets`, {})],
      ['users/me', await machine.get('/v1/users/me')]
    ] as const) {
      t.equal(response.status, 403, `a client may not ${what}`)
      t.equal(response.body.type, '/problems/forbidden', what)
    }
  })
})
