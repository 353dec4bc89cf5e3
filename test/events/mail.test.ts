import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { memoryDatabase, forEachDatabase } from '../helpers/databases.ts'
import { until } from '../helpers/wait.ts'
import { startSmtpServer, tokenIn } from '../services/smtp.ts'

const DEADLINE_MS = 30_000
// Retries come within a second here, so a recovered server is seen quickly.
const quickRetries = { mail: { retry: { firstRetryMs: 100, longestRetryMs: 1_000 }, pollIntervalMs: 200 } }

async function temporaryDirectory (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'users-service-outbox-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

forEachDatabase(t, async (t, database) => {
  t.test('without SMTP_URL (outside production) each mail is an .eml file in MAIL_OUTBOX_DIR', async (t) => {
    const outbox = await temporaryDirectory(t)
    const { api, signUp } = await buildTestApp(t, await database.create(t), { MAIL_OUTBOX_DIR: join(outbox, 'mails') })
    const { user } = await signUp()
    t.equal((await api.post('/v1/auth/password-reset', { email: user.email })).status, 202)
    // A mail is written as .partial and renamed, so a reader never sees half of one.
    const mails = async (): Promise<string[]> => (await readdir(join(outbox, 'mails')).catch(() => [])).filter((name) => name.endsWith('.eml'))
    const files = await until(mails, (names) => names.length > 0, DEADLINE_MS)
    t.equal(files.length, 1, 'one mail')
    const raw = await readFile(join(outbox, 'mails', files[0]!), 'utf8')
    t.match(raw, new RegExp(`^To: ${user.email}$`, 'm'), 'addressed to the user')
    t.match(raw, /^From: users-service@localhost$/m, 'from the default MAIL_FROM')
    t.match(raw, /^Subject: Reset your password$/m)
    t.match(raw, /^[A-Za-z0-9_-]{43}$/m, 'the token, verbatim')
    // The README's recipe greps for that line: no transfer encoding may break or escape it.
    t.match(raw, /^Content-Transfer-Encoding: 7bit$/m, 'the body as written')
    t.notMatch(raw, /=$/m, 'no quoted-printable soft line breaks')
  })

  t.test('a mail server that is down when the mail is asked for gets it once it is back', async (t) => {
    const smtp = await startSmtpServer()
    t.teardown(() => smtp.stop())
    const { api, signUp, logs } = await buildTestApp(t, await database.create(t), { SMTP_URL: smtp.url }, quickRetries)
    const { user } = await signUp()
    await smtp.stop()
    const asked = await api.post('/v1/auth/password-reset', { email: user.email })
    t.equal(asked.status, 202, 'the request does not wait for, or fail with, the mail server')
    const failed = await until(async () => logs.lines.filter((line) => line.msg === 'delivery failed'), (lines) => lines.length >= 2, DEADLINE_MS)
    t.ok(failed.length >= 2, 'attempts failed and were retried')
    t.notMatch(JSON.stringify(failed), /[A-Za-z0-9_-]{43}/, 'no token in the log')
    await smtp.start()
    const mails = await until(async () => smtp.mailsTo(user.email), (found) => found.length > 0, DEADLINE_MS)
    t.equal(mails.length, 1, 'the mail arrives, once')
    t.equal((await api.post('/v1/auth/password-reset/confirm', { token: tokenIn(mails[0]!), password: 'recovered passphrase' })).status, 204, 'and its token works')
  })

  t.test('a mail recorded before a restart is sent by the next process', async (t) => {
    const smtp = await startSmtpServer()
    t.teardown(() => smtp.stop())
    await smtp.stop()
    const settings = await database.create(t, { persistent: true })
    const first = await buildTestApp(t, settings, { SMTP_URL: smtp.url }, quickRetries)
    const { user } = await first.signUp()
    t.equal((await first.api.post('/v1/auth/password-reset', { email: user.email })).status, 202)
    await first.app.close()
    await smtp.start()
    await buildTestApp(t, settings, { SMTP_URL: smtp.url }, quickRetries)
    const mails = await until(async () => smtp.mailsTo(user.email), (found) => found.length > 0, DEADLINE_MS)
    t.equal(mails.length, 1, 'the mail arrives after the restart')
  })
})

t.test('in production without SMTP_URL the mail endpoints answer 503', async (t) => {
  const { api, signUp } = await buildTestApp(t, await memoryDatabase(), { NODE_ENV: 'production', PUBLIC_URL: 'https://users.example.com' })
  const { user, api: userApi } = await signUp()
  for (const response of [await api.post('/v1/auth/password-reset', { email: user.email }), await userApi.post(`/v1/users/${user.id}/email-verification`, undefined)]) {
    t.equal(response.status, 503)
    t.equal(response.body.type, '/problems/mail-unavailable')
  }
})
