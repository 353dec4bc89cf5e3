import { and, eq, sql } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { accountTokens } from '../../src/db/schema.ts'
import { buildTestApp, type Api, type TestApp } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'
import { until } from '../helpers/wait.ts'
import { startSmtpServer, tokenIn, type ReceivedMail, type SmtpServer } from '../services/smtp.ts'

const smtp = await startSmtpServer()
t.teardown(() => smtp.stop())

const MAIL_DEADLINE_MS = 20_000

/** Waits for the mail number `count` (1-based) to this address and returns it. */
async function nthMailTo (server: SmtpServer, address: string, count: number): Promise<ReceivedMail> {
  const mails = await until(async () => server.mailsTo(address), (found) => found.length >= count, MAIL_DEADLINE_MS)
  if (mails.length < count) throw new Error(`no mail number ${count} to ${address}`)
  return mails[count - 1]!
}

function assertInvalidToken (t: Test, response: { status: number, body: any }, what: string): void {
  t.equal(response.status, 400, `${what}: 400`)
  t.equal(response.body.type, '/problems/invalid-account-token', `${what}: the invalid-token problem`)
}

async function resetTokenFor (api: Api, email: string, count = 1): Promise<string> {
  t.equal((await api.post('/v1/auth/password-reset', { email })).status, 202)
  return tokenIn(await nthMailTo(smtp, email, count))
}

forEachDatabase(t, async (t, database) => {
  const testApp: TestApp = await buildTestApp(t, await database.create(t), { SMTP_URL: smtp.url, MAIL_FROM: 'accounts@example.com', LOGIN_MAX_FAILURES: '2' })
  const { app, api, admin, signUp } = testApp

  t.test('a reset mails a single-use token that sets the password and ends every session', async (t) => {
    const { user, api: userApi, refreshToken } = await signUp()
    const token = await resetTokenFor(api, user.email.toUpperCase())
    const mail = smtp.mailsTo(user.email)[0]!
    t.equal(mail.from, 'accounts@example.com', 'sent from MAIL_FROM')
    t.match(token, /^[A-Za-z0-9_-]{32,}$/, 'URL-safe, at least 32 characters')
    t.equal((await api.post('/v1/auth/password-reset/confirm', { token, password: 'a brand new passphrase' })).status, 204)
    t.equal((await userApi.get('/v1/users/me')).status, 401, 'the old access token is refused')
    t.equal((await api.post('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken })).status, 401, 'the old refresh token is refused')
    t.equal((await api.post('/v1/auth/token', { email: user.email, password: 'correct horse battery' })).status, 401, 'the old password is refused')
    t.equal((await api.post('/v1/auth/token', { email: user.email, password: 'a brand new passphrase' })).status, 200, 'the new password works')
    assertInvalidToken(t, await api.post('/v1/auth/password-reset/confirm', { token, password: 'yet another passphrase' }), 'the same token again')
  })

  t.test('unknown and disabled emails get the same 202 and no mail, token or queued delivery', async (t) => {
    const { user } = await signUp()
    t.equal((await admin.patch(`/v1/users/${user.id}`, { status: 'disabled' })).status, 200)
    for (const email of ['nobody-at-all@example.com', user.email]) {
      const response = await api.post('/v1/auth/password-reset', { email })
      t.equal(response.status, 202, `${email}: 202`)
      t.equal(response.text, '', 'an empty body')
    }
    const recorded = await app.db.execute<{ count: number }>(sql`select count(*)::int as count from deliveries where destination in ('nobody-at-all@example.com', ${user.email})`)
    const rows = Array.isArray(recorded) ? recorded : (recorded as unknown as { rows: Array<{ count: number }> }).rows
    t.equal(rows[0]!.count, 0, 'nothing was recorded to send')
  })

  t.test('a newer reset does not revive an older token, and a reset ends the older ones', async (t) => {
    const { user } = await signUp()
    const first = await resetTokenFor(api, user.email, 1)
    const second = await resetTokenFor(api, user.email, 2)
    t.not(first, second)
    t.equal((await api.post('/v1/auth/password-reset/confirm', { token: second, password: 'second passphrase here' })).status, 204)
    assertInvalidToken(t, await api.post('/v1/auth/password-reset/confirm', { token: first, password: 'first passphrase here' }), 'an older token after a reset')
  })

  t.test('wrong, malformed, expired and re-addressed tokens are 400s; bad passwords are 422s', async (t) => {
    const { user, api: userApi } = await signUp()
    const token = await resetTokenFor(api, user.email)
    assertInvalidToken(t, await api.post('/v1/auth/password-reset/confirm', { token: token.slice(0, -2) + 'xx', password: 'a brand new passphrase' }), 'a wrong token')
    assertInvalidToken(t, await api.post('/v1/auth/password-reset/confirm', { token: 'x', password: 'a brand new passphrase' }), 'a malformed token')
    for (const password of ['short', 'x'.repeat(129)]) {
      const response = await api.post('/v1/auth/password-reset/confirm', { token, password })
      t.equal(response.status, 422, `a ${password.length}-character password`)
      t.same(response.body.errors.map((error: { pointer: string }) => error.pointer), ['/password'])
    }
    const common = await api.post('/v1/auth/password-reset/confirm', { token, password: 'password1' })
    t.equal(common.status, 422, 'a common password')
    t.match(common.body.errors, [{ pointer: '/password', detail: /common or breached/ }])
    // The address changes after the mail: the token proved control of the old one only.
    t.equal((await userApi.patch(`/v1/users/${user.id}`, { email: `moved.${user.email}`, current_password: 'correct horse battery' })).status, 200)
    assertInvalidToken(t, await api.post('/v1/auth/password-reset/confirm', { token, password: 'a brand new passphrase' }), 'a token for an address the user no longer has')

    const { user: other } = await signUp()
    const expiring = await resetTokenFor(api, other.email)
    await app.db.execute(sql`update account_tokens set expires_at = now() - interval '1 second' where email = ${other.email}`)
    assertInvalidToken(t, await api.post('/v1/auth/password-reset/confirm', { token: expiring, password: 'a brand new passphrase' }), 'an expired token')
  })

  t.test('a reset clears the failed-login delay', async (t) => {
    const { user } = await signUp()
    for (let attempt = 0; attempt < 2; attempt += 1) {
      t.equal((await api.post('/v1/auth/token', { email: user.email, password: 'not the password' })).status, 401)
    }
    t.equal((await api.post('/v1/auth/token', { email: user.email, password: 'correct horse battery' })).status, 429, 'delayed after LOGIN_MAX_FAILURES')
    const token = await resetTokenFor(api, user.email)
    t.equal((await api.post('/v1/auth/password-reset/confirm', { token, password: 'a brand new passphrase' })).status, 204)
    t.equal((await api.post('/v1/auth/token', { email: user.email, password: 'a brand new passphrase' })).status, 200, 'no delay after the reset')
  })

  t.test('verification: self or admin asks, the mailed token verifies the current address once', async (t) => {
    const { user, api: userApi } = await signUp()
    const { api: strangerApi } = await signUp()
    t.equal((await api.post(`/v1/users/${user.id}/email-verification`, undefined)).status, 401, 'anonymous: 401')
    t.equal((await strangerApi.post(`/v1/users/${user.id}/email-verification`, undefined)).status, 403, 'another user: 403')
    t.equal((await admin.post('/v1/users/0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8b/email-verification', undefined)).status, 404, 'no such user: 404')
    t.equal((await admin.post(`/v1/users/${user.id}/email-verification`, undefined)).status, 202, 'an admin may ask')
    t.equal((await userApi.post(`/v1/users/${user.id}/email-verification`, undefined)).status, 202, 'the user may ask')
    const token = tokenIn(await nthMailTo(smtp, user.email, 2))
    const before = await userApi.get('/v1/users/me')
    t.equal(before.body.email_verified, false)
    t.equal((await api.post('/v1/auth/email-verification/confirm', { token })).status, 204)
    const after = await userApi.get('/v1/users/me')
    t.equal(after.body.email_verified, true, 'verified')
    t.not(after.headers.etag, before.headers.etag, 'a new ETag')
    assertInvalidToken(t, await api.post('/v1/auth/email-verification/confirm', { token }), 'the same token again')
    assertInvalidToken(t, await api.post('/v1/auth/password-reset/confirm', { token: tokenIn(await nthMailTo(smtp, user.email, 1)), password: 'a brand new passphrase' }), 'a verification token used for a reset')

    t.equal((await userApi.patch(`/v1/users/${user.id}`, { email: `new.${user.email}`, current_password: 'correct horse battery' })).body.email_verified, false, 'a new address is not verified')
  })

  t.test('changing one\'s own email needs current_password, counts wrong guesses, and tells the old address', async (t) => {
    const { user, api: userApi } = await signUp()
    const path = `/v1/users/${user.id}`
    const moved = `moved.${user.email}`
    const without = await userApi.patch(path, { email: moved })
    t.equal(without.status, 403, 'a stolen access token alone cannot move the account')
    t.match(without.body.detail, /current_password/)
    t.equal((await userApi.patch(path, { email: user.email })).status, 200, 'the address it already has needs nothing')
    for (let guess = 1; guess <= 2; guess += 1) t.equal((await userApi.patch(path, { email: moved, current_password: `guess ${guess}` })).status, 403, `wrong guess ${guess}: 403`)
    const delayed = await userApi.patch(path, { email: moved, current_password: 'correct horse battery' })
    t.equal(delayed.status, 429, 'past LOGIN_MAX_FAILURES guesses, even the right password waits, as at the token endpoint')
    t.match(delayed.body, { type: '/problems/login-delayed' })
    t.equal((await api.post('/v1/auth/token', { email: user.email, password: 'correct horse battery' })).status, 429, 'the guesses counted against the account\'s logins')
    t.equal((await admin.get(path)).body.email, user.email, 'nothing changed')

    await app.db.execute(sql`delete from login_failures`)
    t.equal((await userApi.patch(path, { email: moved, current_password: 'correct horse battery' })).status, 200, 'with the current password: changed')
    const notice = await nthMailTo(smtp, user.email, 1)
    t.match(notice.subject, /email address of your account was changed/)
    t.match(notice.text, moved, 'the old address is told where the account went')
    t.equal((await admin.patch(path, { email: `again.${user.email}` })).status, 200, 'an admin needs no password')
    t.match((await nthMailTo(smtp, moved, 1)).subject, /was changed/, 'and the address before that hears of it too')
  })

  t.test('mail per address is bounded: 3 reset and 3 verification mails an hour', async (t) => {
    const { user, api: userApi } = await signUp()
    const tokensOf = async (purpose: string) => (await app.db.select({ tokenHash: accountTokens.tokenHash }).from(accountTokens)
      .where(and(eq(accountTokens.userId, user.id), eq(accountTokens.purpose, purpose as 'password_reset')))).length
    for (let request = 1; request <= 5; request += 1) {
      t.equal((await api.post('/v1/auth/password-reset', { email: user.email })).status, 202, `reset request ${request}: the same 202`)
    }
    t.equal(await tokensOf('password_reset'), 3, 'three reset mails, the rest sent nothing')
    const path = `/v1/users/${user.id}/email-verification`
    for (let request = 1; request <= 3; request += 1) t.equal((await userApi.post(path, undefined)).status, 202, `verification request ${request}: 202`)
    const refused = await userApi.post(path, undefined)
    t.equal(refused.status, 429, 'a fourth verification request: 429')
    t.match(refused.body, { type: '/problems/too-many-requests' })
    const retryAfter = Number(refused.headers['retry-after'])
    t.ok(retryAfter >= 1 && retryAfter <= 3600, `Retry-After ${retryAfter} s: when the oldest of the three leaves the hour`)
    t.equal(await tokensOf('email_verification'), 3, 'and no fourth token')
    await app.db.execute(sql`update mails_sent set sent_at = sent_at - interval '61 minutes' where address = ${user.email}`)
    t.equal((await userApi.post(path, undefined)).status, 202, 'an hour later, verification mails go out again')
    t.equal((await api.post('/v1/auth/password-reset', { email: user.email })).status, 202)
    t.equal(await tokensOf('password_reset'), 4, 'and reset mails too')

    // The count is the address's, not the account's: a new account with it starts from the same count.
    await admin.delete(`/v1/users/${user.id}`)
    const { user: again } = await signUp({ email: user.email })
    for (let request = 1; request <= 3; request += 1) await api.post('/v1/auth/password-reset', { email: again.email })
    const resets = await app.db.select({ tokenHash: accountTokens.tokenHash }).from(accountTokens).where(and(eq(accountTokens.userId, again.id), eq(accountTokens.purpose, 'password_reset')))
    t.equal(resets.length, 2, 'deleting the account and signing up again does not reset the address\'s hour')
  })

  t.test('a verification token mailed to an old address does not verify the new one', async (t) => {
    const { user, api: userApi } = await signUp()
    t.equal((await userApi.post(`/v1/users/${user.id}/email-verification`, undefined)).status, 202)
    const token = tokenIn(await nthMailTo(smtp, user.email, 1))
    t.equal((await userApi.patch(`/v1/users/${user.id}`, { email: `changed.${user.email}`, current_password: 'correct horse battery' })).status, 200)
    assertInvalidToken(t, await api.post('/v1/auth/email-verification/confirm', { token }), 'the old address\'s token')
    t.equal((await userApi.get('/v1/users/me')).body.email_verified, false)
    await app.db.execute(sql`update account_tokens set expires_at = now() - interval '1 second'`)
    t.equal((await userApi.post(`/v1/users/${user.id}/email-verification`, undefined)).status, 202)
    const fresh = tokenIn(await nthMailTo(smtp, `changed.${user.email}`, 1))
    await app.db.execute(sql`update account_tokens set expires_at = now() - interval '1 second'`)
    assertInvalidToken(t, await api.post('/v1/auth/email-verification/confirm', { token: fresh }), 'an expired token')
  })
})
