import { sql } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { accountTokens, sessions, users } from '../../src/db/schema.ts'
import { rowsOf } from '../../src/db/raw-rows.ts'
import { hashOfToken, newSecretToken } from '../../src/identity/secret-tokens.ts'
import { buildTestApp, newUser, type ApiResponse } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'
import { enrolTotp, logInWithCode } from '../helpers/mfa.ts'
import { until } from '../helpers/wait.ts'

// Enough rounds to have caught each race as it was found (4 to 15 of 15 rounds lost).
const ROUNDS = 15
// Races need a pool of connections: PGlite has one, and runs one statement at a time.
const database = testDatabases.find((candidate) => candidate.name === 'postgres')!

t.test('on PostgreSQL', { skip: database.unavailable }, async (t) => {
  const testApp = await buildTestApp(t, await database.create(t))
  const api = await testApp.api.overHttp()
  const admin = await testApp.admin.overHttp()

  async function newAccount () {
    const body = newUser()
    const user = (await api.post('/v1/users', body)).body as { id: string, email: string }
    const login = await api.post('/v1/auth/token', { email: body.email, password: body.password })
    return { user, password: body.password as string, own: api.withToken(login.body.access_token), refreshToken: login.body.refresh_token as string }
  }

  const logIn = (email: string, password: string) => api.post('/v1/auth/token', { email, password })

  /** A login that got a session in the race: afterwards neither its access nor its refresh token may work. */
  async function assertEndedIfStarted (t: Test, login: ApiResponse, what: string): Promise<void> {
    t.not(login.status, 500, `${what}: the login is not a 500`)
    if (login.status !== 200) return
    t.equal((await api.withToken(login.body.access_token).get('/v1/users/me')).status, 401, `${what}: its access token stopped working`)
    t.equal((await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: login.body.refresh_token })).status, 401, `${what}: its refresh token too`)
  }

  async function race (first: () => Promise<ApiResponse>, second: () => Promise<ApiResponse>): Promise<[ApiResponse, ApiResponse]> {
    // Both requests are on the wire before either is answered.
    const [a, b] = await Promise.all([first(), second()])
    return [a!, b!]
  }

  t.test('a login racing a password change keeps no session with the old password', async (t) => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const { user, password, own } = await newAccount()
      const [login, change] = await race(() => logIn(user.email, password), () => own.patch(`/v1/users/${user.id}`, { password: `${password} changed`, current_password: password }))
      t.equal(change.status, 200, `round ${round}: the change went through`)
      await assertEndedIfStarted(t, login, `round ${round}`)
    }
  })

  t.test('a login racing a password reset keeps no session with the old password', async (t) => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const { user, password } = await newAccount()
      const token = newSecretToken()
      await testApp.app.db.insert(accountTokens).values({ tokenHash: hashOfToken(token), userId: user.id, purpose: 'password_reset', email: user.email, expiresAt: sql`now() + interval '30 minutes'` })
      const [login, reset] = await race(() => logIn(user.email, password), () => api.post('/v1/auth/password-reset/confirm', { token, password: `${password} reset` }))
      t.equal(reset.status, 204, `round ${round}: the reset went through`)
      await assertEndedIfStarted(t, login, `round ${round}`)
    }
  })

  t.test('a login with a second factor racing a password change keeps no session with the old password', async (t) => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const { user, password, own } = await newAccount()
      const { recoveryCodes } = await enrolTotp(own, user.id, Date.now())
      const [login, change] = await race(() => logInWithCode(api, user.email, password, recoveryCodes[0]!), () => own.patch(`/v1/users/${user.id}`, { password: `${password} changed`, current_password: password }))
      t.equal(change.status, 200, `round ${round}: the change went through`)
      await assertEndedIfStarted(t, login, `round ${round}`)
    }
  })

  t.test('a login racing a disable keeps no session', async (t) => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const { user, password } = await newAccount()
      const [login, disable] = await race(() => logIn(user.email, password), () => admin.patch(`/v1/users/${user.id}`, { status: 'disabled' }))
      t.equal(disable.status, 200, `round ${round}: disabled`)
      t.ok([200, 403].includes(login.status), `round ${round}: the login ran first or was told the account is disabled (${login.status})`)
      await assertEndedIfStarted(t, login, `round ${round}`)
    }
  })

  t.test('a refresh that waits on a revocation of its session is refused once the revocation commits', async (t) => {
    const waitingOnLocks = async () => Number(rowsOf<{ n: number | string }>(await testApp.app.db.execute(sql`select count(*) as n from pg_stat_activity where wait_event_type = 'Lock'`))[0]!.n)
    // A password change or reset locks the user, then revokes; a logout revokes without the user's lock.
    for (const lockUser of [true, false]) {
      const what = lockUser ? 'a password change' : 'a logout'
      const { user, refreshToken } = await newAccount()
      let refresh: Promise<ApiResponse> | undefined
      await testApp.app.db.transaction(async (tx) => {
        if (lockUser) await tx.select({ id: users.id }).from(users).where(sql`${users.id} = ${user.id}`).for('update')
        await tx.update(sessions).set({ revokedAt: sql`now()` }).where(sql`${sessions.userId} = ${user.id}`)
        refresh = api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken })
        t.ok(await until(waitingOnLocks, (waiting) => waiting > 0, 10_000) > 0, `${what}: the refresh waits on its locks`)
      })
      t.equal((await refresh!).status, 401, `${what}: committed first, so the refresh is refused`)
    }
  })

  t.test('a self-deletion racing the user\'s own login, refresh, verification or reset request: no 500, and the user is gone', async (t) => {
    const racers: Array<[string, (account: Awaited<ReturnType<typeof newAccount>>) => Promise<ApiResponse>, number[]]> = [
      ['login', ({ user, password }) => logIn(user.email, password), [200, 401]],
      ['refresh', ({ refreshToken }) => api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken }), [200, 401]],
      ['verification request', ({ user, own }) => own.post(`/v1/users/${user.id}/email-verification`, undefined), [202, 401, 404]],
      ['reset request', ({ user }) => api.post('/v1/auth/password-reset', { email: user.email }), [202]]
    ]
    for (const [what, racer, expected] of racers) {
      for (let round = 0; round < ROUNDS; round += 1) {
        const account = await newAccount()
        const [raced, deletion] = await race(() => racer(account), () => account.own.delete(`/v1/users/${account.user.id}`))
        t.equal(deletion.status, 204, `${what}, round ${round}: deleted`)
        t.ok(expected.includes(raced.status), `${what}, round ${round}: ${raced.status} is what the final state implies`)
        t.equal((await admin.get(`/v1/users/${account.user.id}`)).status, 404, `${what}, round ${round}: gone for good`)
        if (raced.status === 200) t.equal((await api.withToken(raced.body.access_token).get('/v1/users/me')).status, 401, `${what}, round ${round}: the session died with the user`)
      }
    }
  })
})
