/**
 * Concurrency: of 20 simultaneous uses of one mfa_token, or of one recovery code, exactly
 * one logs in; on PostgreSQL, two replicas shown one TOTP code accept it once.
 */
import t from 'tap'
import { buildTestApp, newUser, type Api } from '../helpers/app.ts'
import { forEachDatabase, testDatabases } from '../helpers/databases.ts'
import { enrolTotp, passwordStep, totpCode } from '../helpers/mfa.ts'

const ATTEMPTS = 20

async function enrolledPerson (api: Api, now: number) {
  const body = newUser()
  const user = (await api.post('/v1/users', body)).body
  const own = await api.loginAs(body.email as string, body.password as string)
  return { ...await enrolTotp(own, user.id, now), email: body.email as string, password: body.password as string }
}

function statuses (responses: Array<{ status: number }>): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1
  return counts
}

forEachDatabase(t, async (t, database) => {
  const settings = await database.create(t)
  const { api } = await buildTestApp(t, settings, { LOGIN_MAX_FAILURES: '1000' })

  t.test('20 wrong codes at once cannot outrun the failed-login delay', async (t) => {
    // A clock that stands still: the delay, once it starts, lasts the whole test.
    const now = Date.now()
    const strict = await buildTestApp(t, settings, { LOGIN_MAX_FAILURES: '3' }, { clock: () => now })
    const { email, password } = await enrolledPerson(strict.api, now)
    const { body } = await passwordStep(strict.api, email, password)
    const responses = await Promise.all(Array.from({ length: ATTEMPTS }, (_, index) => strict.api.post('/v1/auth/mfa', { mfa_token: body.mfa_token, code: `not a code ${index}` })))
    t.same(statuses(responses), { 401: 3, 429: ATTEMPTS - 3 }, 'three guesses are checked; the rest wait')
  })

  t.test('one mfa_token, 20 at once: one login', async (t) => {
    const { email, password, recoveryCodes } = await enrolledPerson(api, Date.now())
    const { body } = await passwordStep(api, email, password)
    const responses = await Promise.all(Array.from({ length: ATTEMPTS }, () => api.post('/v1/auth/mfa', { mfa_token: body.mfa_token, code: recoveryCodes[0] })))
    t.same(statuses(responses), { 200: 1, 401: ATTEMPTS - 1 })
  })

  t.test('one recovery code, 20 logins at once: one login', async (t) => {
    const { email, password, recoveryCodes } = await enrolledPerson(api, Date.now())
    const tokens = await Promise.all(Array.from({ length: ATTEMPTS }, async () => (await passwordStep(api, email, password)).body.mfa_token as string))
    const responses = await Promise.all(tokens.map((mfaToken) => api.post('/v1/auth/mfa', { mfa_token: mfaToken, code: recoveryCodes[0] })))
    t.same(statuses(responses), { 200: 1, 401: ATTEMPTS - 1 })
  })
})

t.test('two replicas on PostgreSQL accept a TOTP code once', { skip: testDatabases.find((database) => database.name === 'postgres')!.unavailable }, async (t) => {
  const settings = await testDatabases.find((database) => database.name === 'postgres')!.create(t)
  let now = Date.now()
  const clock = { clock: () => now }
  const replicaA = await buildTestApp(t, settings, { LOGIN_MAX_FAILURES: '1000' }, clock)
  const replicaB = await buildTestApp(t, settings, { LOGIN_MAX_FAILURES: '1000' }, clock)
  const { email, password, secret } = await enrolledPerson(replicaA.api, now)
  // The next time step: the enrolment used this one's code up.
  now += 30_000
  const code = totpCode(secret, now)
  const attempts = await Promise.all(Array.from({ length: ATTEMPTS }, async (_, index) => {
    const replica = index % 2 === 0 ? replicaA : replicaB
    const { body } = await passwordStep(replica.api, email, password)
    return { replica, mfaToken: body.mfa_token as string }
  }))
  const responses = await Promise.all(attempts.map(({ replica, mfaToken }) => replica.api.post('/v1/auth/mfa', { mfa_token: mfaToken, code })))
  t.same(statuses(responses), { 200: 1, 401: ATTEMPTS - 1 })
})
