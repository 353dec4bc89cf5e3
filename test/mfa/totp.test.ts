/**
 * TOTP factors and recovery codes, end to end on each database: enrolment checked with an
 * independent RFC 6238 implementation, the two-step login, replays and clock drift (on an
 * injected clock), the shared failure count, what tokens say, and removal.
 */
import { eq } from 'drizzle-orm'
import t from 'tap'
import { events } from '../../src/db/schema.ts'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'
import { enrolTotp, logInWithCode, passwordStep, totpCode } from '../helpers/mfa.ts'
import { decodeClaims } from '../helpers/tokens.ts'
import { deleteUnconfirmedFactors } from '../../src/mfa/factors.ts'
import { deleteExpiredMfaTokens } from '../../src/mfa/login.ts'
import { deleteExpiredChallenges } from '../../src/mfa/webauthn.ts'

const STEP_MS = 30_000
const LOOK_ALIKES = /[0Oo1Il]/

forEachDatabase(t, async (t, database) => {
  // Mid-step, so that ±1 step is unambiguous.
  let now = Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2
  const { app, api, admin, logs } = await buildTestApp(t, await database.create(t), { LOGIN_MAX_FAILURES: '3', LOG_LEVEL: 'debug' }, { clock: () => now })
  /** Every secret the service handed out here: none may reach a log line. */
  const handedOut: string[] = []

  async function person () {
    const body = newUser()
    const user = (await api.post('/v1/users', body)).body
    const api1 = await api.loginAs(body.email as string, body.password as string)
    return { user, api: api1, email: body.email as string, password: body.password as string }
  }

  t.test('enrolment: the secret works in any authenticator app, and the first factor brings ten recovery codes', async (t) => {
    const { user, api: own, email, password } = await person()
    const enrolment = await own.post(`/v1/users/${user.id}/factors/totp`, { name: 'Phone' })
    t.equal(enrolment.status, 201)
    t.equal(enrolment.headers['cache-control'], 'no-store')
    t.match(enrolment.body, { type: 'totp', confirmed: false, secret: /^[A-Z2-7]{32}$/ }, '160 bits in base32')
    t.equal(enrolment.body.otpauth_uri, `otpauth://totp/users-service:${email}?secret=${enrolment.body.secret as string}&issuer=users-service&algorithm=SHA1&digits=6&period=30`)
    t.same((await own.get(`/v1/users/${user.id}/factors`)).body, { data: [], recovery_codes_remaining: 0 }, 'an unconfirmed factor does not count')

    const wrong = await own.post(`/v1/users/${user.id}/factors/${enrolment.body.id as string}/confirm`, { code: totpCode(enrolment.body.secret, now + 5 * STEP_MS) })
    t.equal(wrong.status, 400)
    t.equal(wrong.body.type, '/problems/invalid-code')
    const confirmed = await own.post(`/v1/users/${user.id}/factors/${enrolment.body.id as string}/confirm`, { code: totpCode(enrolment.body.secret, now) })
    t.equal(confirmed.status, 200)
    t.match(confirmed.body.factor, { id: enrolment.body.id, type: 'totp', name: 'Phone', last_used_at: null })
    const codes: string[] = confirmed.body.recovery_codes
    handedOut.push(enrolment.body.secret, ...codes)
    t.equal(codes.length, 10)
    t.equal(new Set(codes).size, 10, 'all different')
    for (const code of codes) {
      t.ok(code.replaceAll('-', '').length >= 10, 'at least 10 characters')
      t.notMatch(code, LOOK_ALIKES, 'no look-alike characters')
    }
    t.same((await own.get(`/v1/users/${user.id}/factors`)).body.recovery_codes_remaining, 10)

    const weak = await own.post(`/v1/users/${user.id}/factors/totp`, {})
    t.equal(weak.status, 401, 'with a factor, adding another needs aal2: a stolen password-only token adds nothing')
    t.equal(weak.body.type, '/problems/mfa-required-for-role')
    now += STEP_MS
    const strong = api.withToken((await logInWithCode(api, email, password, totpCode(enrolment.body.secret, now))).body.access_token)
    const second = await strong.post(`/v1/users/${user.id}/factors/totp`, {})
    const secondConfirmed = await strong.post(`/v1/users/${user.id}/factors/${second.body.id as string}/confirm`, { code: totpCode(second.body.secret, now) })
    t.equal(secondConfirmed.body.recovery_codes, undefined, 'codes are handed out with the first factor only')
    t.equal(secondConfirmed.body.factor.name, 'Authenticator app', 'a default name')

    const added = await app.db.select().from(events).where(eq(events.subject, user.id))
    const factorEvents = added.filter((event) => event.type === 'users.user.factor_added')
    t.equal(factorEvents.length, 2)
    t.same((factorEvents[0]!.data as { factor: unknown }).factor, { id: enrolment.body.id, type: 'totp', name: 'Phone' })
    const recorded = JSON.stringify(added)
    t.notOk(recorded.includes(enrolment.body.secret) || codes.some((code) => recorded.includes(code)), 'no secret or code in any event')
  })

  t.test('only the user enrols, and an enrolment not confirmed within 15 minutes is gone', async (t) => {
    const { user, api: own } = await person()
    const other = await person()
    t.equal((await admin.post(`/v1/users/${user.id}/factors/totp`, {})).status, 403, 'not even an admin')
    t.equal((await other.api.post(`/v1/users/${user.id}/factors/totp`, {})).status, 403)
    t.equal((await other.api.get(`/v1/users/${user.id}/factors`)).status, 403, 'nor may others list them')
    t.equal((await admin.get(`/v1/users/${user.id}/factors`)).status, 200, 'an admin may list them')
    const enrolment = await own.post(`/v1/users/${user.id}/factors/totp`, {})
    now += 16 * 60_000
    t.equal((await own.post(`/v1/users/${user.id}/factors/${enrolment.body.id as string}/confirm`, { code: totpCode(enrolment.body.secret, now) })).status, 404)
  })

  t.test('login: the password step answers mfa_required; a code finishes it, once', async (t) => {
    const { user, api: own, email, password } = await person()
    const { secret } = await enrolTotp(own, user.id, now)
    now += STEP_MS

    const first = await passwordStep(api, email, password)
    t.equal(first.status, 403)
    t.match(first.headers['content-type'], /^application\/json/)
    t.match(first.body, { error: 'mfa_required', type: '/problems/mfa-required', status: 403, factors: ['totp', 'recovery_code'] })
    t.ok(Buffer.from(first.body.mfa_token, 'base64url').length >= 32, 'an mfa_token of at least 256 bits')
    handedOut.push(first.body.mfa_token)
    t.equal(first.body.access_token, undefined, 'no session yet')

    const wrong = await api.post('/v1/auth/mfa', { mfa_token: first.body.mfa_token, code: totpCode(secret, now + 5 * STEP_MS) })
    t.equal(wrong.status, 401)
    t.equal(wrong.body.error, 'invalid_grant')
    const done = await api.post('/v1/auth/mfa', { mfa_token: first.body.mfa_token, code: totpCode(secret, now) })
    t.equal(done.status, 200, 'a wrong code leaves the mfa_token valid')
    t.equal(done.headers['cache-control'], 'no-store')
    const claims = decodeClaims(done.body.access_token)
    t.same(claims.amr, ['pwd', 'otp', 'mfa'])
    t.equal(claims.acr, 'aal2')
    t.equal(typeof claims.auth_time, 'number')

    const again = await api.post('/v1/auth/mfa', { mfa_token: first.body.mfa_token, code: totpCode(secret, now) })
    t.equal(again.status, 401, 'the mfa_token is used up')
    const replay = await logInWithCode(api, email, password, totpCode(secret, now))
    t.equal(replay.status, 401, 'a code is never accepted twice')

    const refreshed = await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: done.body.refresh_token })
    const refreshedClaims = decodeClaims(refreshed.body.access_token)
    t.same([refreshedClaims.amr, refreshedClaims.acr, refreshedClaims.auth_time], [claims.amr, claims.acr, claims.auth_time], 'a refresh keeps amr, acr and auth_time')
    const introspected = await app.liveCredential(refreshed.body.access_token)
    t.equal(introspected?.credential.kind, 'person')

    const both = await api.post('/v1/auth/mfa', { mfa_token: (await passwordStep(api, email, password)).body.mfa_token })
    t.equal(both.status, 400, 'a code or a credential is needed')
  })

  t.test('clock drift: one step either way is accepted, two are not', async (t) => {
    const { user, api: own, email, password } = await person()
    const { secret } = await enrolTotp(own, user.id, now)
    now += 10 * STEP_MS
    t.equal((await logInWithCode(api, email, password, totpCode(secret, now - 2 * STEP_MS))).status, 401, 'two steps behind')
    t.equal((await logInWithCode(api, email, password, totpCode(secret, now + 2 * STEP_MS))).status, 401, 'two steps ahead')
    t.equal((await logInWithCode(api, email, password, totpCode(secret, now - STEP_MS))).status, 200, 'one step behind')
    t.equal((await logInWithCode(api, email, password, totpCode(secret, now + STEP_MS))).status, 200, 'one step ahead')
    t.equal((await logInWithCode(api, email, password, totpCode(secret, now))).status, 401, 'a step at or before the last accepted one is refused')
  })

  t.test('one failure count per account across both steps; it clears only when a login completes', async (t) => {
    const { user, api: own, email, password } = await person()
    const { secret } = await enrolTotp(own, user.id, now)
    now += STEP_MS
    t.equal((await passwordStep(api, email, 'wrong password 1')).status, 401)
    const first = await passwordStep(api, email, password)
    t.equal(first.status, 403, 'the right password does not clear the count')
    for (const wrong of ['000000', '111111']) t.equal((await api.post('/v1/auth/mfa', { mfa_token: first.body.mfa_token, code: wrong })).status, 401)
    const delayed = await api.post('/v1/auth/mfa', { mfa_token: first.body.mfa_token, code: totpCode(secret, now) })
    t.equal(delayed.status, 429, 'three failures: the delay applies to the second step')
    t.equal(delayed.body.type, '/problems/login-delayed')
    t.equal((await passwordStep(api, email, password)).status, 429, 'and to the password step alike')
    now += 2_000
    t.equal((await api.post('/v1/auth/mfa', { mfa_token: first.body.mfa_token, code: totpCode(secret, now) })).status, 200)
    t.equal((await passwordStep(api, email, 'wrong password 2')).status, 401, 'the count started again')
    t.equal((await passwordStep(api, email, password)).status, 403)
  })

  t.test('an mfa_token expires after MFA_TOKEN_TTL_SECONDS', async (t) => {
    const { user, api: own, email, password } = await person()
    const { secret } = await enrolTotp(own, user.id, now)
    const first = await passwordStep(api, email, password)
    now += 301_000
    t.equal((await api.post('/v1/auth/mfa', { mfa_token: first.body.mfa_token, code: totpCode(secret, now) })).status, 401)
  })

  t.test('recovery codes: each works once, however it is typed, and is told as an event', async (t) => {
    const { user, api: own, email, password } = await person()
    const { recoveryCodes } = await enrolTotp(own, user.id, now)
    const code = recoveryCodes[0]!
    const done = await logInWithCode(api, email, password, ` ${code.replaceAll('-', '').toUpperCase()} `)
    t.equal(done.status, 200, 'without dashes and in capitals')
    t.same(decodeClaims(done.body.access_token).amr, ['pwd', 'otp', 'mfa'])
    t.equal((await logInWithCode(api, email, password, code)).status, 401, 'used up')
    t.equal((await own.get(`/v1/users/${user.id}/factors`)).body.recovery_codes_remaining, 9)
    const [used] = await app.db.select().from(events).where(eq(events.type, 'users.user.recovery_code_used'))
    t.match(used?.data, { id: user.id, recovery_codes_remaining: 9 })

    t.equal((await own.post(`/v1/users/${user.id}/recovery-codes`, undefined)).status, 401, 'new codes need aal2')
    const strong = api.withToken(done.body.access_token)
    const renewed = await strong.post(`/v1/users/${user.id}/recovery-codes`, undefined)
    t.equal(renewed.status, 200)
    t.equal(renewed.body.recovery_codes.length, 10)
    t.equal((await logInWithCode(api, email, password, recoveryCodes[1]!)).status, 401, 'the old codes stop working')
    t.equal((await logInWithCode(api, email, password, renewed.body.recovery_codes[0])).status, 200)
  })

  t.test('removal: the user themself with aal2, or an admin (ending the user\'s sessions); the last factor takes the codes', async (t) => {
    const { user, api: own, email, password } = await person()
    const { factorId, secret } = await enrolTotp(own, user.id, now)
    now += STEP_MS
    const weak = await own.delete(`/v1/users/${user.id}/factors/${factorId}`)
    t.equal(weak.status, 401, 'an aal1 token must step up')
    t.equal(weak.body.type, '/problems/mfa-required-for-role')
    t.match(weak.headers['www-authenticate'], /error="insufficient_user_authentication".*acr_values="aal2"/)
    const strong = api.withToken((await logInWithCode(api, email, password, totpCode(secret, now))).body.access_token)
    t.equal((await strong.delete(`/v1/users/${user.id}/factors/${factorId}`)).status, 204)
    t.same((await strong.get(`/v1/users/${user.id}/factors`)).body, { data: [], recovery_codes_remaining: 0 })
    t.equal((await passwordStep(api, email, password)).status, 200, 'a password alone logs in again')

    const second = await enrolTotp(strong, user.id, now)
    t.equal((await admin.delete(`/v1/users/${user.id}/factors/${second.factorId}`)).status, 204, 'an admin, for a lost device')
    t.equal((await strong.get('/v1/users/me')).status, 401, 'the user\'s sessions end')
    t.equal((await admin.delete(`/v1/users/${user.id}/factors/${second.factorId}`)).status, 404)
    const removed = await app.db.select().from(events).where(eq(events.type, 'users.user.factor_removed'))
    t.ok(removed.some((event) => event.subject === user.id && event.actor !== user.id), 'told as an event, with the admin as actor')
  })
  t.test('housekeeping forgets unconfirmed enrolments, expired mfa_tokens and stale challenges', async (t) => {
    const { user, api: own } = await person()
    await own.post(`/v1/users/${user.id}/factors/totp`, {})
    const other = await person()
    await enrolTotp(other.api, other.user.id, now)
    await passwordStep(api, other.email, other.password)
    await api.post('/v1/auth/passkey/options', undefined)
    const later = now + 60 * 60_000
    t.ok(await deleteUnconfirmedFactors(app.db, later, 1000) >= 1, 'the enrolment never confirmed')
    t.ok(await deleteExpiredMfaTokens(app.db, later, 1000) >= 1, 'the mfa_token never used')
    t.ok(await deleteExpiredChallenges(app.db, later, 1000) >= 1, 'the challenge never answered')
    t.equal((await admin.get(`/v1/users/${other.user.id}/factors`)).body.data.length, 1, 'a confirmed factor stays')
  })

  t.test('no secret handed out here reached a log line', async (t) => {
    t.ok(handedOut.length > 10)
    const written = logs.raw.join('\n')
    t.same(handedOut.filter((secret) => written.includes(secret)), [])
  })
})
