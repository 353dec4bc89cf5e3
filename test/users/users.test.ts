import t from 'tap'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

const USER_MEMBERS = ['created_at', 'email', 'email_verified', 'id', 'last_login_at', 'name', 'role', 'status', 'updated_at']
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

forEachDatabase(t, async (t, database) => {
  const { admin: api, logs } = await buildTestApp(t, await database.create(t))

  t.test('sign-up creates a user with exactly the documented members', async (t) => {
    const response = await api.post('/v1/users', { email: 'Grace.Hopper@Example.COM', name: '  Grace Hopper  ', password: 'cobol-4-ever' })
    t.equal(response.status, 201)
    t.same(Object.keys(response.body).sort(), USER_MEMBERS)
    t.match(response.body.id, UUID_V7)
    t.equal(response.body.email, 'grace.hopper@example.com', 'email is lower-cased')
    t.equal(response.body.name, 'Grace Hopper', 'name is trimmed')
    t.equal(response.body.role, 'user')
    t.match(response.body, { status: 'active', email_verified: false, last_login_at: null }, 'active, unverified, never logged in')
    t.equal(response.headers.location, `/v1/users/${response.body.id}`)
    t.equal(new Date(response.body.created_at).toISOString(), response.body.created_at, 'RFC 3339 UTC with milliseconds')
    t.notMatch(response.text, /cobol-4-ever|argon2/, 'no password or hash in the response')
    t.notMatch(logs.raw.join('\n'), /cobol-4-ever|argon2/, 'no password or hash in the logs')
  })

  t.test('emails are unique regardless of case', async (t) => {
    const body = newUser()
    t.equal((await api.post('/v1/users', body)).status, 201)
    const duplicate = await api.post('/v1/users', { ...body, email: String(body.email).toUpperCase() })
    t.equal(duplicate.status, 409)
    t.equal(duplicate.body.type, '/problems/email-taken')
    t.notMatch(duplicate.text, /users_email_lower_key|duplicate key|insert/i, 'no database internals')
  })

  t.test('read, replace, patch and delete one user', async (t) => {
    const created = (await api.post('/v1/users', newUser())).body
    const path = `/v1/users/${created.id}`

    const read = await api.get(path)
    t.equal(read.status, 200)
    t.same(read.body, created)

    const replaced = await api.put(path, { email: 'replaced@example.com', name: 'Replaced' })
    t.equal(replaced.status, 200)
    t.match(replaced.body, { id: created.id, email: 'replaced@example.com', name: 'Replaced', role: 'user', created_at: created.created_at })
    t.ok(replaced.body.updated_at >= created.updated_at, 'updated_at moves forward')

    const patched = await api.request({
      method: 'PATCH',
      url: path,
      payload: JSON.stringify({ name: 'Patched' }),
      headers: { 'content-type': 'application/merge-patch+json' }
    })
    t.equal(patched.status, 200)
    t.match(patched.body, { email: 'replaced@example.com', name: 'Patched' })

    const passwordChange = await api.patch(path, { password: 'a brand new secret' })
    t.equal(passwordChange.status, 200)
    t.notMatch(passwordChange.text, /brand new secret/)

    const deleted = await api.delete(path)
    t.equal(deleted.status, 204)
    t.equal(deleted.text, '')
    t.equal((await api.get(path)).status, 404)
    t.equal((await api.delete(path)).status, 404)
    t.equal((await api.put(path, { email: 'gone@example.com', name: 'Gone' })).status, 404)
    t.equal((await api.patch(path, { name: 'Gone' })).status, 404)
  })

  t.test('changing the email to a taken one is a 409', async (t) => {
    const first = (await api.post('/v1/users', newUser())).body
    const second = (await api.post('/v1/users', newUser())).body
    const response = await api.patch(`/v1/users/${second.id}`, { email: first.email })
    t.equal(response.status, 409)
    t.equal((await api.put(`/v1/users/${second.id}`, { email: first.email.toUpperCase(), name: 'x' })).status, 409)
  })

  t.test('HEAD answers like GET without a body', async (t) => {
    const created = (await api.post('/v1/users', newUser())).body
    const response = await api.request({ method: 'HEAD', url: `/v1/users/${created.id}` })
    t.equal(response.status, 200)
    t.equal(response.text, '')
  })

  t.test('unknown and malformed ids', async (t) => {
    const missing = await api.get('/v1/users/01890a5d-ac96-774b-bcce-b302099a8057')
    t.equal(missing.status, 404)
    t.equal(missing.body.type, '/problems/not-found')
    const malformed = await api.get('/v1/users/not-a-uuid')
    t.equal(malformed.status, 400)
    t.match(malformed.body.errors, [{ pointer: 'id', detail: /^must be a UUID/ }])
    t.equal((await api.delete('/v1/users/123')).status, 400)
  })
})
