import { and, eq } from 'drizzle-orm'
import t from 'tap'
import { users } from '../../src/db/schema.ts'
import { buildTestApp, type Api } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

forEachDatabase(t, async (t, database) => {
  t.test('the last active admin cannot be demoted, disabled or deleted', async (t) => {
    const { admin, adminId, api, signUp } = await buildTestApp(t, await database.create(t))
    for (const [what, change] of [['demoted', () => admin.patch(`/v1/users/${adminId}`, { role: 'user' })], ['disabled', () => admin.patch(`/v1/users/${adminId}`, { status: 'disabled' })], ['deleted', () => admin.delete(`/v1/users/${adminId}`)]] as const) {
      const refused = await change()
      t.equal(refused.status, 409, `${what}: 409`)
      t.equal(refused.body.type, '/problems/last-active-admin', `${what}: says why`)
    }
    t.match((await admin.get('/v1/users/me')).body, { role: 'admin', status: 'active' }, 'nothing changed')

    const { user: second } = await signUp()
    t.equal((await admin.patch(`/v1/users/${second.id}`, { role: 'admin' })).status, 200)
    t.equal((await admin.patch(`/v1/users/${second.id}`, { status: 'disabled' })).status, 200, 'a second admin may be disabled')
    t.equal((await admin.patch(`/v1/users/${adminId}`, { role: 'user' })).status, 409, 'a disabled admin does not count')
    t.equal((await admin.patch(`/v1/users/${second.id}`, { status: 'active' })).status, 200, 'enabled again')
    t.equal((await admin.patch(`/v1/users/${adminId}`, { role: 'user' })).status, 200, 'with another active admin, the first may step down')
    const secondApi = await api.loginAs(second.email, 'correct horse battery')
    t.equal((await secondApi.patch(`/v1/users/${second.id}`, { role: 'user' })).status, 409, 'now the second admin is the last one')
  })

  t.test('two admins removing each other at once: one wins, an active admin remains', async (t) => {
    const removals: Array<[string, (admin: Api, id: string) => Promise<{ status: number }>]> = [
      ['disable', (admin, id) => admin.patch(`/v1/users/${id}`, { status: 'disabled' })],
      ['demote', (admin, id) => admin.patch(`/v1/users/${id}`, { role: 'user' })],
      ['delete', (admin, id) => admin.delete(`/v1/users/${id}`)]
    ]
    for (const [what, remove] of removals) {
      const { app, admin, adminId, signUp } = await buildTestApp(t, await database.create(t))
      const { user: other, api: otherApi } = await signUp()
      t.equal((await admin.patch(`/v1/users/${other.id}`, { role: 'admin' })).status, 200)
      const statuses = (await Promise.all([remove(admin, other.id), remove(otherApi, adminId)])).map((response) => response.status)
      // The loser is refused: 409 when it reached the check, or 401 / 403 when the winner already
      // disabled, deleted or demoted the loser's own account.
      t.equal(statuses.filter((status) => status < 300).length, 1, `${what}: exactly one of ${statuses.join(', ')} succeeds`)
      t.ok(statuses.every((status) => status < 300 || [401, 403, 409].includes(status)), `${what}: the other is refused`)
      const activeAdmins = await app.db.select().from(users).where(and(eq(users.role, 'admin'), eq(users.status, 'active')))
      t.equal(activeAdmins.length, 1, `${what}: one active admin remains`)
    }
  })

  t.test('enabling restores logging in, not the old sessions', async (t) => {
    const { admin, api, signUp } = await buildTestApp(t, await database.create(t))
    const { user, refreshToken } = await signUp()
    t.equal((await admin.patch(`/v1/users/${user.id}`, { status: 'disabled' })).status, 200)
    t.equal((await admin.patch(`/v1/users/${user.id}`, { status: 'active' })).status, 200)
    t.equal((await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken })).status, 401, 'the old session stays ended')
    t.equal((await api.post('/v1/auth/token', { email: user.email, password: 'correct horse battery' })).status, 200, 'a new login works')
  })

  t.test('last_login_at moves with each password login, not with a refresh', async (t) => {
    const { app, admin, api, signUp } = await buildTestApp(t, await database.create(t))
    const { user, refreshToken } = await signUp()
    const afterLogin = (await admin.get(`/v1/users/${user.id}`)).body.last_login_at
    t.type(afterLogin, 'string')
    t.equal((await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken })).status, 200)
    t.equal((await admin.get(`/v1/users/${user.id}`)).body.last_login_at, afterLogin, 'a refresh does not count')
    await app.db.update(users).set({ lastLoginAt: new Date('2000-01-01T00:00:00.000Z') }).where(eq(users.id, user.id))
    const relogin = await api.post('/v1/auth/token', { email: user.email, password: 'correct horse battery' })
    t.equal(relogin.status, 200)
    t.not((await admin.get(`/v1/users/${user.id}`)).body.last_login_at, '2000-01-01T00:00:00.000Z', 'a login sets it again')
  })
})
