/**
 * Step-up (RFC 9470) with MFA_REQUIRED_ROLES=admin, generated from the app's route table:
 * every operation an admin may do to someone else refuses an aal1 admin token with a 401
 * asking for aal2 and serves an aal2 one; what an admin may not do anyway stays a 403;
 * and the admin can still act on themself, enrol a factor and step up for real.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { startSession } from '../../src/identity/sessions.ts'
import { SYSTEM } from '../../src/access/actor.ts'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'
import { enrolTotp, logInWithCode, totpCode } from '../helpers/mfa.ts'
import { bodyFor, protectedOperations, type Document } from '../helpers/operations.ts'
import { ADMIN } from '../helpers/app.ts'
import { decodeClaims } from '../helpers/tokens.ts'

t.test('admin powers need aal2 when MFA_REQUIRED_ROLES=admin', async (t) => {
  const pglite = testDatabases.find((database) => database.name === 'pglite')!
  const { app, api, admin: weakAdmin, adminId } = await buildTestApp(t, await pglite.create(t), { MFA_REQUIRED_ROLES: 'admin' })
  const spec = app.swagger() as unknown as Document

  // An aal2 session of the same admin, as a login with a second factor starts one.
  const { sessionId } = await startSession(app.domain, SYSTEM, { principal: { id: adminId, role: 'admin' }, authentication: { amr: ['pwd', 'otp', 'mfa'], acr: 'aal2' } }, { ttlSeconds: 3600, userAgent: 'test' })
  const strongAdmin = api.withToken(await app.issuePersonToken({ userId: adminId, role: 'admin', sessionId, amr: ['pwd', 'otp', 'mfa'], acr: 'aal2' }))

  const targetClient = (await strongAdmin.post('/v1/clients', { name: 'target', scopes: ['users:read'] })).body.id as string
  async function urlFor (path: string): Promise<string> {
    const userId = path.includes('{id}') && path.startsWith('/v1/users') ? (await strongAdmin.post('/v1/users', newUser())).body.id : undefined
    return path.replace(/\{(\w+)\}/g, (_whole, name: string) => name === 'id' ? userId ?? targetClient : randomUUID())
  }

  let steppedUp = 0
  const matrix: Array<Promise<unknown>> = []
  for (const { path, method, operation } of protectedOperations(spec)) {
    matrix.push(t.test(`${method.toUpperCase()} ${path}`, async (t) => {
      const url = await urlFor(path)
      // A sign-up with a role is an admin's act; one without is anyone's.
      const payload = bodyFor(spec, operation, { role: 'admin' }) as never
      const request = { method: method.toUpperCase() as never, url, payload }
      const weak = await weakAdmin.request(request)
      const strong = await strongAdmin.request(request)
      if (strong.status === 403) {
        t.equal(weak.status, 403, 'not an admin power: a 403 either way')
      } else if (path === '/v1/users/me') {
        t.notOk([401, 403].includes(weak.status), `the admin themself: served with aal1 (${weak.status})`)
      } else {
        steppedUp += 1
        t.notOk([401, 403].includes(strong.status), `aal2: served (${strong.status})`)
        t.equal(weak.status, 401, 'aal1: 401')
        t.equal(weak.body?.type, '/problems/mfa-required-for-role')
        t.match(weak.headers['www-authenticate'], /^Bearer .*error="insufficient_user_authentication".*acr_values="aal2"/)
      }
    }))
  }
  await Promise.all(matrix)
  t.ok(steppedUp >= 20, `${steppedUp} admin operations ask for a step-up`)

  t.test('an aal1 admin still reads and changes themself, and enrols a factor to step up for real', async (t) => {
    t.equal((await weakAdmin.get(`/v1/users/${adminId}`)).status, 200)
    t.equal((await weakAdmin.get(`/v1/users/${adminId}/sessions`)).status, 200)
    const renamed = await weakAdmin.patch(`/v1/users/${adminId}`, { name: 'The Admin' }, { 'content-type': 'application/merge-patch+json' })
    t.equal(renamed.status, 200, 'a change of their own')
    t.equal((await weakAdmin.get('/v1/users')).status, 401, 'but not another user\'s data')

    const now = Date.now()
    const { secret } = await enrolTotp(weakAdmin, adminId, now)
    const login = await logInWithCode(api, ADMIN.email, ADMIN.password, totpCode(secret, now + 30_000))
    t.equal(login.status, 200)
    t.equal(decodeClaims(login.body.access_token).acr, 'aal2')
    t.equal((await api.withToken(login.body.access_token).get('/v1/users')).status, 200, 'a real aal2 login may')
    const refreshed = await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: login.body.refresh_token })
    t.equal((await api.withToken(refreshed.body.access_token).get('/v1/users')).status, 200, 'and still may after a refresh')
  })
})
