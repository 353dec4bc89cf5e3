/**
 * The request sequences identity providers send, replayed: Okta's published SCIM 2.0
 * CRUD test order, and Entra ID's documented habits (its validator's requests and quirks).
 */
import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'
import { ERROR_SCHEMA, oktaUser, patchOp, SCIM_JSON, scimProvider, USER_SCHEMA } from '../helpers/scim.ts'

forEachDatabase(t, async (t, database) => {
  const { admin, api: anonymous } = await buildTestApp(t, await database.create(t))
  const { api, clientId } = await scimProvider(admin)

  t.test('Okta\'s CRUD order: lookup by userName, create, read, replace, deactivate, reactivate', async (t) => {
    const user = oktaUser()
    const lookup = await api.get(`/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${user.userName as string}"`)}&startIndex=1&count=100`)
    t.equal(lookup.status, 200)
    t.match(lookup.headers['content-type'], /^application\/scim\+json/)
    t.match(lookup.body, { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] })

    const created = await api.post('/scim/v2/Users', JSON.stringify(user), SCIM_JSON)
    t.equal(created.status, 201)
    t.match(created.headers['content-type'], /^application\/scim\+json/)
    const id = created.body.id as string
    t.equal(created.headers.location, `/scim/v2/Users/${id}`)
    t.equal(created.headers.etag, created.body.meta.version)
    t.match(created.body, {
      schemas: [USER_SCHEMA],
      userName: user.userName,
      externalId: user.externalId,
      name: { givenName: 'Ada', familyName: 'Lovelace', formatted: 'Ada Lovelace' },
      displayName: 'Ada Lovelace',
      emails: [{ value: user.userName, type: 'work', primary: true }],
      active: true,
      meta: { resourceType: 'User', location: `/scim/v2/Users/${id}` }
    })
    t.notOk('password' in created.body)

    t.equal((await api.post('/scim/v2/Users', JSON.stringify(user), SCIM_JSON)).body.scimType, 'uniqueness', 'the same user again: 409 uniqueness')
    const sameExternalId = await api.post('/scim/v2/Users', JSON.stringify(oktaUser({ externalId: user.externalId })), SCIM_JSON)
    t.match(sameExternalId.body, { status: '409', scimType: 'uniqueness', detail: /externalId/ }, 'another user with the same externalId')
    const found = await api.get(`/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${(user.userName as string).toUpperCase()}"`)}`)
    t.same(found.body.Resources.map((resource: { id: string }) => resource.id), [id], 'userName compares case-insensitively')

    t.equal((await api.get(`/scim/v2/Users/${id}`)).body.userName, user.userName)

    const replaced = await api.put(`/scim/v2/Users/${id}`, JSON.stringify({ ...user, name: { givenName: 'Augusta', familyName: 'King' }, displayName: 'Augusta King' }), SCIM_JSON)
    t.equal(replaced.status, 200)
    t.match(replaced.body, { name: { formatted: 'Augusta King', givenName: 'Augusta' }, displayName: 'Augusta King' })
    t.not(replaced.body.meta.version, created.body.meta.version, 'a new version')

    const asAdmin = await admin.get(`/v1/users/${id}`)
    t.match(asAdmin.body, { email: user.userName, name: 'Augusta King', status: 'active' }, 'the same user through /v1')

    const deactivated = await api.patch(`/scim/v2/Users/${id}`, patchOp({ op: 'replace', value: { active: false } }), SCIM_JSON)
    t.equal(deactivated.body.active, false)
    t.equal((await admin.get(`/v1/users/${id}`)).body.status, 'disabled')
    const reactivated = await api.patch(`/scim/v2/Users/${id}`, patchOp({ op: 'replace', value: { active: true } }), SCIM_JSON)
    t.equal(reactivated.body.active, true)

    const events = (await admin.get('/v1/events?limit=100')).body.data.filter((event: { subject: string }) => event.subject === id)
    t.same(events.map((event: { type: string }) => event.type), ['users.user.created', 'users.user.updated', 'users.user.disabled', 'users.user.enabled'], 'the ordinary events')
    t.ok(events.every((event: { actor: string, actortype: string }) => event.actor === clientId), 'with the client as actor')

    t.equal((await api.delete(`/scim/v2/Users/${id}`)).status, 204)
    const gone = await api.get(`/scim/v2/Users/${id}`)
    t.equal(gone.status, 404)
    t.match(gone.body, { schemas: [ERROR_SCHEMA], status: '404' })
  })

  t.test('Entra ID\'s habits: "Replace", "False", a path-less object, emails[type eq "work"].value, attributes it maps that are not kept', async (t) => {
    const user = oktaUser({ 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Engines' }, title: 'Analyst', phoneNumbers: [{ type: 'work', value: '+44 20 0000 0000' }] })
    const created = await api.post('/scim/v2/Users', JSON.stringify(user), SCIM_JSON)
    t.equal(created.status, 201, 'attributes of the schemas that are not kept are ignored')
    const id = created.body.id as string
    // Entra's validator first looks the user up by a random filter on userName, then by externalId.
    t.equal((await api.get(`/scim/v2/Users?filter=${encodeURIComponent('userName eq "nobody-1b2c@example.com"')}`)).body.totalResults, 0)
    t.equal((await api.get(`/scim/v2/Users?filter=${encodeURIComponent(`externalId eq "${user.externalId as string}"`)}`)).body.Resources[0].id, id)

    const newEmail = `entra.${id}@example.com`
    const patched = await api.patch(`/scim/v2/Users/${id}`, patchOp(
      { op: 'Replace', path: 'emails[type eq "work"].value', value: newEmail },
      { op: 'Replace', path: 'name.givenName', value: 'Grace' },
      { op: 'Add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber', value: '42' },
      { op: 'Replace', value: { displayName: 'Grace H', 'name.familyName': 'Hopper', active: 'False' } }
    ), SCIM_JSON)
    t.equal(patched.status, 200)
    t.match(patched.body, { userName: newEmail, emails: [{ value: newEmail }], name: { givenName: 'Grace', familyName: 'Hopper' }, displayName: 'Grace H', active: false })
    t.equal((await api.patch(`/scim/v2/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: 'True' }), SCIM_JSON)).body.active, true)
  })

  t.test('PATCH is all or nothing, lenient where providers deviate, strict where data would go wrong', async (t) => {
    const created = await api.post('/scim/v2/Users', JSON.stringify(oktaUser()), SCIM_JSON)
    const id = created.body.id as string
    const refusals: Array<[string, string]> = [
      [patchOp({ op: 'replace', path: 'displayName', value: 'Changed' }, { op: 'remove', path: 'userName' }), 'mutability'],
      [patchOp({ op: 'replace', path: 'userName', value: 'not an email' }), 'invalidValue'],
      [patchOp({ op: 'replace', path: 'active', value: 'maybe' }), 'invalidValue'],
      [patchOp({ op: 'replace', path: 'id', value: 'mine' }), 'mutability'],
      [patchOp({ op: 'replace', path: 'favouriteColour', value: 'blue' }), 'invalidPath'],
      [patchOp({ op: 'replace', path: 'emails[type eq "home"].value', value: 'x@example.com' }), 'noTarget'],
      [patchOp({ op: 'remove' }), 'noTarget'],
      [patchOp({ op: 'merge', path: 'displayName', value: 'x' }), 'invalidSyntax'],
      [JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [] }), 'invalidSyntax'],
      [patchOp({ op: 'replace', path: 'password', value: 'short' }), 'invalidValue'],
      [patchOp({ op: 'replace', path: 'password', value: 'password123' }), 'invalidValue']
    ]
    for (const [body, scimType] of refusals) {
      const refused = await api.patch(`/scim/v2/Users/${id}`, body, SCIM_JSON)
      t.equal(refused.status, 400, body)
      t.match(refused.body, { schemas: [ERROR_SCHEMA], status: '400', scimType }, `${body}: ${scimType}`)
    }
    const after = await api.get(`/scim/v2/Users/${id}`)
    t.equal(after.body.displayName, created.body.displayName, 'nothing of a refused PATCH was applied')
    t.equal(after.body.meta.version, created.body.meta.version, 'not even a new version')

    const removed = await api.patch(`/scim/v2/Users/${id}`, patchOp({ op: 'remove', path: 'name.givenName' }, { op: 'remove', path: 'externalId' }), SCIM_JSON)
    t.equal(removed.status, 200)
    t.notOk('givenName' in removed.body.name)
    t.notOk('externalId' in removed.body)
  })

  t.test('ETag and If-Match as for /v1/users', async (t) => {
    const created = await api.post('/scim/v2/Users', JSON.stringify(oktaUser()), SCIM_JSON)
    const id = created.body.id as string
    const stale = created.headers.etag as string
    t.equal((await api.patch(`/scim/v2/Users/${id}`, patchOp({ op: 'replace', path: 'displayName', value: 'One' }), { ...SCIM_JSON, 'if-match': stale })).status, 200)
    const refused = await api.patch(`/scim/v2/Users/${id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Two' }), { ...SCIM_JSON, 'if-match': stale })
    t.equal(refused.status, 412)
    t.equal(refused.body.status, '412')
    t.equal((await api.delete(`/scim/v2/Users/${id}`, { 'if-match': stale })).status, 412)
  })

  t.test('a deactivated user\'s access token is refused, and their login answers 403', async (t) => {
    const created = await api.post('/scim/v2/Users', JSON.stringify(oktaUser({ password: 'provisioned passphrase' })), SCIM_JSON)
    const login = await anonymous.post('/v1/auth/token', { email: created.body.userName, password: 'provisioned passphrase' })
    t.equal(login.status, 200, 'a provisioned password logs in')
    const person = anonymous.withToken(login.body.access_token)
    t.equal((await person.get('/v1/users/me')).status, 200)
    await api.patch(`/scim/v2/Users/${created.body.id as string}`, patchOp({ op: 'replace', path: 'active', value: false }), SCIM_JSON)
    t.equal((await person.get('/v1/users/me')).status, 401, 'the token stops working at once')
    t.equal((await anonymous.post('/v1/auth/token', { email: created.body.userName, password: 'provisioned passphrase' })).status, 403)
  })

  t.test('a provisioned user without a password cannot log in until a reset sets one', async (t) => {
    const created = await api.post('/scim/v2/Users', JSON.stringify(oktaUser()), SCIM_JSON)
    t.equal((await anonymous.post('/v1/auth/token', { email: created.body.userName, password: 'not the password of anyone' })).status, 401)
  })

  t.test('only a client holding scim: every refusal is a SCIM error', async (t) => {
    const missing = await anonymous.get('/scim/v2/Users')
    t.equal(missing.status, 401)
    t.match(missing.headers['content-type'], /^application\/scim\+json/)
    t.match(missing.body, { schemas: [ERROR_SCHEMA], status: '401' })
    const reader = await scimProvider(admin, ['users:read'])
    const lacking = await reader.api.get('/scim/v2/Users')
    t.equal(lacking.status, 403)
    t.match(lacking.headers['www-authenticate'], /error="insufficient_scope", scope="scim"/)
    t.equal(lacking.body.status, '403')
    t.equal((await admin.get('/scim/v2/Users')).status, 403, 'a person, even an admin, provisions through /v1')
    t.equal((await api.get('/scim/v2/Nothing')).body.status, '404')
    t.equal((await api.post('/scim/v2/Users', 'not json', SCIM_JSON)).body.scimType, 'invalidSyntax')
    t.equal((await api.post('/scim/v2/Users', JSON.stringify({ schemas: [USER_SCHEMA] }), SCIM_JSON)).body.scimType, 'invalidValue', 'no userName')
    t.equal((await api.post('/scim/v2/Users', 'userName=x', { 'content-type': 'text/plain' })).status, 415)
  })
})
