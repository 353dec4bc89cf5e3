import t from 'tap'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

forEachDatabase(t, async (t, database) => {
  const { admin: api } = await buildTestApp(t, await database.create(t))

  const invalidBodies: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['missing email', { email: undefined }, '/email', /required/],
    ['missing name', { name: undefined }, '/name', /required/],
    ['missing password', { password: undefined }, '/password', /required/],
    ['email of the wrong type', { email: 42 }, '/email', /string/],
    ['name of the wrong type', { name: ['Ada'] }, '/name', /string/],
    ['name that is a number', { name: 12345 }, '/name', /string/],
    ['password of the wrong type', { password: 12345678 }, '/password', /string/],
    ['not an email', { email: 'ada.example.com' }, '/email', /valid email/],
    ['email too long', { email: `${'a'.repeat(250)}@example.com` }, '/email', /254/],
    ['blank name', { name: '    ' }, '/name', /after trimming/],
    ['empty name', { name: '' }, '/name', /after trimming/],
    ['name too long', { name: 'x'.repeat(101) }, '/name', /after trimming/],
    ['password too short', { password: 'short' }, '/password', /fewer than 8/],
    ['password too long', { password: 'p'.repeat(129) }, '/password', /more than 128/],
    ['unknown role', { role: 'root' }, '/role', /one of: user, admin/],
    ['unknown member', { nickname: 'ace' }, '/nickname', /not a known member/]
  ]

  for (const [name, change, pointer, detail] of invalidBodies) {
    t.test(`sign-up with ${name} is a 422 naming the field`, async (t) => {
      const response = await api.post('/v1/users', newUser(change))
      t.equal(response.status, 422)
      t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
      t.match(response.body, { type: '/problems/validation-failed', status: 422, instance: '/v1/users' })
      t.equal(response.body.errors.length, 1, 'one entry for the one failing field')
      t.equal(response.body.errors[0].pointer, pointer)
      t.match(response.body.errors[0].detail, detail)
    })
  }

  t.test('a name of exactly 100 characters after trimming is accepted', async (t) => {
    const response = await api.post('/v1/users', newUser({ name: `  ${'n'.repeat(100)}  ` }))
    t.equal(response.status, 201)
    t.equal(response.body.name, 'n'.repeat(100))
  })

  t.test('every failing field gets its own entry', async (t) => {
    const response = await api.post('/v1/users', { email: 'nope', name: '', password: 1 })
    t.equal(response.status, 422)
    t.same(response.body.errors.map((error: { pointer: string }) => error.pointer).sort(), ['/email', '/name', '/password'])
  })

  t.test('a body that is not an object', async (t) => {
    const response = await api.post('/v1/users', [newUser()])
    t.equal(response.status, 422)
    t.same(response.body.errors, [{ pointer: '', detail: 'must be object' }])
  })

  t.test('an empty patch is refused', async (t) => {
    const created = (await api.post('/v1/users', newUser())).body
    const response = await api.patch(`/v1/users/${created.id}`, {})
    t.equal(response.status, 422)
    t.same(response.body.errors, [{ pointer: '', detail: 'must contain at least one member' }])
  })

  t.test('PUT takes no password', async (t) => {
    const created = (await api.post('/v1/users', newUser())).body
    const response = await api.put(`/v1/users/${created.id}`, { email: created.email, name: 'x', password: 'sneaky password' })
    t.equal(response.status, 422)
    t.equal(response.body.errors[0].pointer, '/password')
  })

  t.test('malformed JSON is a 400', async (t) => {
    const response = await api.request({ method: 'POST', url: '/v1/users', payload: '{"email": ', headers: { 'content-type': 'application/json' } })
    t.equal(response.status, 400)
    t.match(response.body, { type: '/problems/malformed-request', detail: 'The body is not valid JSON.' })
  })

  t.test('an empty JSON body is a 400', async (t) => {
    const response = await api.request({ method: 'POST', url: '/v1/users', headers: { 'content-type': 'application/json' } })
    t.equal(response.status, 400)
  })

  for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
    t.test(`a ${contentType} body is a 415`, async (t) => {
      const response = await api.request({ method: 'POST', url: '/v1/users', payload: 'email=a@b.c', headers: { 'content-type': contentType } })
      t.equal(response.status, 415)
      t.equal(response.body.type, '/problems/unsupported-media-type')
    })
  }
})
