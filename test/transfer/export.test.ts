/** GET /v1/users/export streams every user as the API shows it; GET /v1/users/{id}/export is everything kept about one. */
import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

forEachDatabase(t, async (t, database) => {
  const { admin, api, signUp } = await buildTestApp(t, await database.create(t))

  t.test('every user, one a line, the same as the API shows them', async (t) => {
    const emails = Array.from({ length: 1_203 }, (_, index) => `export.${index}.${Date.now()}@example.com`)
    t.match((await admin.post('/v1/users/import', { users: emails.map((email) => ({ email, name: 'Exported' })) })).body, { created: emails.length })
    const exported = await admin.get('/v1/users/export')
    t.equal(exported.status, 200)
    t.match(exported.headers['content-type'], /^application\/x-ndjson/)
    const lines = exported.text.trimEnd().split('\n').map((line) => JSON.parse(line) as { id: string, email: string })
    const listed: unknown[] = []
    for (let cursor: string | null = null; ;) {
      const page = await admin.get(`/v1/users?limit=100${cursor === null ? '' : `&cursor=${cursor}`}`)
      listed.push(...page.body.data)
      cursor = page.body.next_cursor
      if (cursor === null) break
    }
    t.equal(lines.length, listed.length, 'as many as the listing has')
    const byId = new Map(listed.map((user) => [(user as { id: string }).id, user]))
    t.ok(lines.every((user) => JSON.stringify(user) === JSON.stringify(byId.get(user.id))), 'each one as GET /v1/users shows it')
    t.same(lines.map((user) => user.id), [...lines.map((user) => user.id)].sort(), 'in id order')
    t.ok(emails.every((email) => lines.some((user) => user.email === email)), 'the imported among them')
    t.notMatch(exported.text, /password|argon2/, 'no hash')
  })

  t.test('one person\'s data: themself, sessions, factors, events; no secret', async (t) => {
    const { user, api: own } = await signUp()
    const mine = await own.get(`/v1/users/${user.id as string}/export`)
    t.equal(mine.status, 200)
    t.match(mine.body, { user: { id: user.id, email: user.email }, factors: [] })
    t.equal(mine.body.sessions.length, 1, 'the session of the login')
    t.match(mine.body.events, [{ type: 'users.user.created', subject: user.id }])
    t.notMatch(mine.text, /password_hash|refresh|secret/, 'nothing secret')
    t.equal((await admin.get(`/v1/users/${user.id as string}/export`)).status, 200, 'an admin may')
    const { api: other } = await signUp()
    t.equal((await other.get(`/v1/users/${user.id as string}/export`)).status, 403, 'another user may not')
    t.equal((await own.get('/v1/users/export')).status, 403, 'nor may a user export everyone')
    t.equal((await api.get('/v1/users/export')).status, 401)
    t.equal((await admin.get('/v1/users/0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8b/export')).status, 404)
  })
})
