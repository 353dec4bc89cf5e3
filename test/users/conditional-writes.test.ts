import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

forEachDatabase(t, async (t, database) => {
  const { admin, signUp } = await buildTestApp(t, await database.create(t))

  t.test('every single-user response carries a strong ETag that changes on each write', async (t) => {
    const { user, api } = await signUp()
    const read = await api.get(`/v1/users/${user.id}`)
    t.equal(read.headers.etag, '"1"')
    t.equal((await api.get('/v1/users/me')).headers.etag, '"1"')
    const patched = await api.patch(`/v1/users/${user.id}`, { name: 'Renamed' })
    t.equal(patched.headers.etag, '"2"')
    const replaced = await api.put(`/v1/users/${user.id}`, { email: user.email, name: 'Replaced' })
    t.equal(replaced.headers.etag, '"3"')
  })

  t.test('sign-up answers with the ETag of the new user', async (t) => {
    const created = await admin.post('/v1/users', { email: 'etag.on.create@example.com', name: 'E', password: 'long enough pw' })
    t.equal(created.status, 201)
    t.equal(created.headers.etag, '"1"')
  })

  t.test('If-None-Match: 304 with the same ETag and a request id, and no body', async (t) => {
    const { user, api } = await signUp()
    for (const header of ['"1"', 'W/"1"', '"7", "1"', '*']) {
      const response = await api.get(`/v1/users/${user.id}`, { 'if-none-match': header })
      t.equal(response.status, 304, `If-None-Match: ${header}`)
      t.equal(response.headers.etag, '"1"')
      t.match(response.headers['x-request-id'], /.+/)
      t.equal(response.text, '')
    }
    t.equal((await api.get('/v1/users/me', { 'if-none-match': '"1"' })).status, 304)
    const fresh = await api.get(`/v1/users/${user.id}`, { 'if-none-match': '"2"' })
    t.equal(fresh.status, 200)
    t.equal(fresh.headers['cache-control'], 'private, no-cache', 'a client\'s own cache may keep it and revalidate, a shared one may not')
  })

  t.test('a stale If-Match is a 412 and changes nothing', async (t) => {
    const { user, api } = await signUp()
    const path = `/v1/users/${user.id}`
    t.equal((await api.patch(path, { name: 'First' }, { 'if-match': '"1"' })).status, 200)
    for (const header of ['"1"', 'W/"2"', '"9", "10"', 'garbage']) {
      const stale = await api.patch(path, { name: 'Lost update' }, { 'if-match': header })
      t.equal(stale.status, 412, `PATCH If-Match: ${header}`)
      t.equal(stale.body.type, '/problems/precondition-failed')
    }
    t.equal((await api.put(path, { email: user.email, name: 'Lost' }, { 'if-match': '"1"' })).status, 412)
    t.equal((await api.delete(path, { 'if-match': '"1"' })).status, 412)
    const current = await api.get(path)
    t.match(current.body, { name: 'First' })
    t.equal(current.headers.etag, '"2"', 'no write happened')
    t.equal((await api.patch(path, { name: 'Second' }, { 'if-match': '"5", "2"' })).status, 200, 'any listed tag may match')
    t.equal((await api.patch(path, { name: 'Third' }, { 'if-match': '*' })).status, 200, '* matches any current version')
    t.equal((await api.delete(path, { 'if-match': '"4"' })).status, 204)
  })

  t.test('If-Match on a user that does not exist is a 404', async (t) => {
    const missing = '/v1/users/01890a5d-ac96-774b-bcce-b302099a8057'
    t.equal((await admin.patch(missing, { name: 'x' }, { 'if-match': '"1"' })).status, 404)
    t.equal((await admin.delete(missing, { 'if-match': '*' })).status, 404)
  })
})
