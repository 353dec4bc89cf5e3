/** SCIM filters, both kinds of pagination, the groups that are the roles, and the schemas the service publishes. */
import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'
import { oktaUser, patchOp, SCIM_JSON, scimProvider } from '../helpers/scim.ts'

const ADMIN_GROUP = 'a5c1d1a0-0000-4000-8000-000000000001'
const USER_GROUP = 'a5c1d1a0-0000-4000-8000-000000000002'

forEachDatabase(t, async (t, database) => {
  const { admin, adminId } = await buildTestApp(t, await database.create(t))
  const { api } = await scimProvider(admin)
  const marker = `m${Date.now()}`
  const made: Array<{ id: string, userName: string, externalId: string }> = []
  for (const [index, given] of ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger'].entries()) {
    const created = await api.post('/scim/v2/Users', JSON.stringify(oktaUser({ userName: `${given.toLowerCase()}.${marker}@example.com`, emails: undefined, name: { givenName: given, familyName: 'Test' }, displayName: `${given} ${marker}`, active: index !== 4 })), SCIM_JSON)
    made.push(created.body)
  }
  const list = (query: string) => api.get(`/scim/v2/Users?${query}`)
  const filtered = async (filter: string) => (await list(`filter=${encodeURIComponent(filter)}&count=200`)).body.Resources.map((user: { userName: string }) => user.userName.split('.')[0]).sort()

  t.test('filters: every operator, and/or/not, parentheses, the attributes the contract lists', async (t) => {
    t.same(await filtered(`userName sw "a" and userName co "${marker}"`), ['ada', 'alan'])
    t.same(await filtered(`userName ew "${marker}@example.com" and not (userName sw "a")`), ['barbara', 'edsger', 'grace'])
    t.same(await filtered(`emails.value eq "GRACE.${marker}@example.com"`), ['grace'])
    t.same(await filtered(`emails[type eq "work"].value eq "grace.${marker}@example.com"`), ['grace'])
    t.same(await filtered(`emails[type eq "work" and value co "alan.${marker}"]`), ['alan'])
    t.same(await filtered(`emails[type eq "home"] and userName co "${marker}"`), [])
    t.same(await filtered(`externalId eq "${made[1]!.externalId}"`), ['grace'])
    t.same(await filtered(`id eq "${made[0]!.id}" or id eq "not-a-uuid"`), ['ada'])
    t.same(await filtered(`displayName co "${marker}" and active eq false`), ['edsger'])
    t.same(await filtered(`displayName co "${marker}" and active ne "True"`), ['edsger'], 'booleans as Entra spells them')
    t.same(await filtered(`displayName eq "barbara ${marker}"`), ['barbara'], 'case-insensitive, as displayName is')
    t.same(await filtered(`userName co "${marker}" and meta.created ge "2000-01-01T00:00:00Z" and meta.lastModified lt "2999-01-01T00:00:00Z"`), ['ada', 'alan', 'barbara', 'edsger', 'grace'])
    t.same(await filtered(`userName co "${marker}" and (name.givenName eq "Ada" or name.familyName pr and externalId eq "${made[3]!.externalId}")`), ['ada', 'barbara'])
    t.same(await filtered(`USERNAME Eq "ada.${marker}@example.com"`), ['ada'], 'attribute names and operators in any case')
    t.same(await filtered(`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ada.${marker}@example.com"`), ['ada'], 'with the schema URN')
    t.same(await filtered(`userName gt "edsger.${marker}@example.com" and userName co "${marker}"`), ['grace'])
    t.same(await filtered(`userName co "%" or userName co "_${marker}"`), [], 'LIKE wildcards are literal')
  })

  t.test('filters that cannot be: 400 invalidFilter, never a 500', async (t) => {
    for (const filter of ['userName eq', 'nickName eq "x"', 'userName eq 12', 'active gt true', 'meta.created gt "yesterday"', 'meta.created co "2020"', 'userName eq "a" and', '(((', `${'not ('.repeat(40)}userName eq "x"${')'.repeat(40)}`, `${'('.repeat(20000)}userName eq "x"`, 'x'.repeat(3000), 'phoneNumbers[type eq "work"]', 'userName eq "\u0000"']) {
      const refused = await list(`filter=${encodeURIComponent(filter)}`)
      t.equal(refused.status, 400, filter.slice(0, 60))
      t.equal(refused.body.scimType, 'invalidFilter', filter.slice(0, 60))
    }
  })

  t.test('startIndex and count; count=0 gives only totalResults; attributes and excludedAttributes', async (t) => {
    const filter = encodeURIComponent(`userName co "${marker}"`)
    const page = await list(`filter=${filter}&startIndex=2&count=2`)
    t.match(page.body, { totalResults: 5, startIndex: 2, itemsPerPage: 2 })
    t.same(page.body.Resources.map((user: { id: string }) => user.id), made.slice(1, 3).map((user) => user.id), 'in creation order')
    t.match((await list(`filter=${filter}&count=0`)).body, { totalResults: 5, itemsPerPage: 0, Resources: [] })
    for (const count of [4, 5, 6, 50]) {
      t.match((await list(`filter=${filter}&count=${count}`)).body, { totalResults: 5, itemsPerPage: Math.min(count, 5) }, `a first page of ${count}: every match counted, whether the page holds them all or not`)
    }
    t.equal((await list(`filter=${filter}&startIndex=0&count=1`)).body.startIndex, 1, 'below 1 reads as 1')
    t.equal((await list('count=500')).body.itemsPerPage <= 200, true, 'at most 200')
    const projected = await list(`filter=${filter}&count=1&attributes=userName,name.givenName`)
    t.same(Object.keys(projected.body.Resources[0]).sort(), ['id', 'name', 'schemas', 'userName'])
    t.same(projected.body.Resources[0].name, { givenName: 'Ada' })
    const excluded = await api.get(`/scim/v2/Users/${made[0]!.id}?excludedAttributes=emails,groups,meta`)
    t.notOk('emails' in excluded.body || 'groups' in excluded.body || 'meta' in excluded.body)
    t.equal(excluded.body.userName, made[0]!.userName)
  })

  t.test('cursors (RFC 9865): a walk visits each once; a cursor not issued for this filter is invalidCursor', async (t) => {
    const filter = encodeURIComponent(`userName co "${marker}"`)
    const seen: string[] = []
    let cursor = ''
    for (let pages = 0; pages < 10; pages++) {
      const page = await list(`filter=${filter}&count=2&cursor=${encodeURIComponent(cursor)}`)
      t.equal(page.body.totalResults, cursor === '' ? 5 : undefined, 'counted on the first page only')
      t.notOk('startIndex' in page.body)
      seen.push(...page.body.Resources.map((user: { id: string }) => user.id))
      if (page.body.nextCursor === undefined) break
      cursor = page.body.nextCursor
    }
    t.same(seen, made.map((user) => user.id))
    t.equal((await list(`filter=${filter}&cursor=garbage`)).body.scimType, 'invalidCursor')
    const first = await list(`filter=${filter}&count=1&cursor=`)
    t.equal((await list(`count=1&cursor=${encodeURIComponent(first.body.nextCursor)}`)).body.scimType, 'invalidCursor', 'another filter')
  })

  t.test('groups are the roles: members change roles, all or nothing; the last active admin stays', async (t) => {
    const groups = await api.get(`/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "admin"')}&excludedAttributes=members`)
    t.match(groups.body, { totalResults: 1, Resources: [{ id: ADMIN_GROUP, displayName: 'admin' }] })
    t.notOk('members' in groups.body.Resources[0])
    const adminGroup = await api.get(`/scim/v2/Groups/${ADMIN_GROUP}`)
    t.same(adminGroup.body.members.map((member: { value: string }) => member.value), [adminId])

    const [ada, grace] = made
    t.equal((await api.patch(`/scim/v2/Groups/${ADMIN_GROUP}`, patchOp({ op: 'add', path: 'members', value: [{ value: ada!.id }, { value: grace!.id }] }), SCIM_JSON)).status, 204)
    t.equal((await admin.get(`/v1/users/${ada!.id}`)).body.role, 'admin', 'joining admin makes an admin')
    t.same((await api.get(`/scim/v2/Users/${ada!.id}`)).body.groups.map((group: { display: string }) => group.display), ['admin'])

    t.equal((await api.patch(`/scim/v2/Groups/${ADMIN_GROUP}`, patchOp({ op: 'remove', path: `members[value eq "${ada!.id}"]` }), SCIM_JSON)).status, 204)
    t.equal((await admin.get(`/v1/users/${ada!.id}`)).body.role, 'user', 'leaving admin makes a user')
    t.equal((await api.patch(`/scim/v2/Groups/${USER_GROUP}`, patchOp({ op: 'Add', path: 'members', value: [{ value: grace!.id }] }), SCIM_JSON)).status, 204)
    t.equal((await admin.get(`/v1/users/${grace!.id}`)).body.role, 'user', 'joining user takes admin away')

    const leaving = await api.patch(`/scim/v2/Groups/${USER_GROUP}`, patchOp({ op: 'remove', path: 'members', value: [{ value: ada!.id }] }), SCIM_JSON)
    t.match(leaving.body, { status: '400', scimType: 'mutability' }, 'nobody leaves user')
    const unknown = await api.patch(`/scim/v2/Groups/${ADMIN_GROUP}`, patchOp({ op: 'add', path: 'members', value: [{ value: ada!.id }, { value: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8b' }] }), SCIM_JSON)
    t.match(unknown.body, { status: '400', scimType: 'invalidValue' })
    t.equal((await admin.get(`/v1/users/${ada!.id}`)).body.role, 'user', 'all or nothing: the known member did not join either')

    const lastAdmin = await api.patch(`/scim/v2/Groups/${ADMIN_GROUP}`, patchOp({ op: 'remove', path: 'members' }), SCIM_JSON)
    t.equal(lastAdmin.status, 409, 'the last active admin cannot leave admin')
    t.equal(lastAdmin.body.status, '409')
    t.equal((await api.patch(`/scim/v2/Users/${adminId}`, patchOp({ op: 'replace', path: 'active', value: false }), SCIM_JSON)).status, 409, 'nor be deactivated')
    t.equal((await api.delete(`/scim/v2/Users/${adminId}`)).status, 409, 'nor deleted')
    t.equal((await admin.get('/v1/users/me')).body.role, 'admin')

    t.equal((await api.post('/scim/v2/Groups', JSON.stringify({ displayName: 'ops' }), SCIM_JSON)).status, 403, 'groups are not created')
    t.equal((await api.delete(`/scim/v2/Groups/${USER_GROUP}`)).status, 403, 'nor deleted')
    t.equal((await api.patch(`/scim/v2/Groups/${USER_GROUP}`, patchOp({ op: 'replace', path: 'displayName', value: 'people' }), SCIM_JSON)).body.scimType, 'mutability', 'nor renamed')
    t.equal((await api.get('/scim/v2/Groups/nope')).status, 404)
  })

  t.test('discovery: ServiceProviderConfig, ResourceTypes, Schemas; responses match the schemas published', async (t) => {
    const config = await api.get('/scim/v2/ServiceProviderConfig')
    t.match(config.body, { patch: { supported: true }, bulk: { supported: false }, sort: { supported: false }, changePassword: { supported: false }, etag: { supported: true }, filter: { supported: true, maxResults: 200 }, authenticationSchemes: [{ type: 'oauthbearertoken' }] })
    t.same((await api.get('/scim/v2/ResourceTypes')).body.Resources.map((type: { id: string }) => type.id), ['User', 'Group'])
    const schemas = (await api.get('/scim/v2/Schemas')).body.Resources as Array<{ id: string, attributes: Array<{ name: string, subAttributes?: Array<{ name: string }> }> }>
    const userSchema = schemas.find((schema) => schema.id === 'urn:ietf:params:scim:schemas:core:2.0:User')!
    t.equal((await api.get(`/scim/v2/Schemas/${userSchema.id}`)).body.id, userSchema.id)
    // Every attribute a User carries is one the published schema declares.
    const user = (await api.get(`/scim/v2/Users/${made[0]!.id}`)).body as Record<string, unknown>
    const declared = new Map(userSchema.attributes.map((attribute) => [attribute.name, new Set(attribute.subAttributes?.map((sub) => sub.name))]))
    for (const [name, value] of Object.entries(user)) {
      if (name === 'schemas' || name === 'id' || name === 'meta') continue
      t.ok(declared.has(name), `${name} is declared`)
      const entries = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? [value] : []
      for (const entry of entries) for (const sub of Object.keys(entry as object)) t.ok(declared.get(name)!.has(sub), `${name}.${sub} is declared`)
    }
  })
})
