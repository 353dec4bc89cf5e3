/**
 * On PostgreSQL, with a TOTP factor, recovery codes, a pending mfa_token and a queued
 * password-reset mail in the database, every text, bytea, json and array column of every
 * table is read: none holds any of those secrets in clear.
 */
import postgres from 'postgres'
import t from 'tap'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'
import { enrolTotp, passwordStep } from '../helpers/mfa.ts'
import { freePort } from '../services/ports.ts'

const postgresDatabase = testDatabases.find((database) => database.name === 'postgres')!

t.test('the database alone gives away no secret a user relies on', { skip: postgresDatabase.unavailable }, async (t) => {
  const settings = await postgresDatabase.create(t)
  // Nobody listens there: the reset mail stays queued, as during a mail server's outage.
  const { app, api } = await buildTestApp(t, settings, { SMTP_URL: `smtp://127.0.0.1:${await freePort()}` })
  const body = newUser()
  const user = (await api.post('/v1/users', body)).body
  const own = await api.loginAs(body.email as string, body.password as string)
  const { secret, recoveryCodes } = await enrolTotp(own, user.id, Date.now())
  const pending = await passwordStep(api, body.email as string, body.password as string)
  t.equal(pending.status, 403)
  t.equal((await api.post('/v1/auth/password-reset', { email: body.email })).status, 202)

  const sql = postgres(settings.url!, { max: 1, onnotice: () => {} })
  t.teardown(() => sql.end())
  const [queued] = await sql<Array<{ payload: { sealed: string } }>>`select payload from deliveries where channel = 'mail'`
  t.type(queued?.payload.sealed, 'string', 'the queued mail is sealed')
  const mail = JSON.parse(app.domain.secrets.open(queued!.payload.sealed, 'deliveries:mail')) as { text: string }
  const resetToken = /^[\w-]{43}$/m.exec(mail.text)?.[0]
  t.ok(resetToken, 'the sealed mail holds the reset token')

  const needles: Record<string, string> = {
    'TOTP secret': secret,
    'TOTP secret, lower case': secret.toLowerCase(),
    'TOTP secret, as hex': Buffer.from(base32Decode(secret)).toString('hex'),
    mfa_token: pending.body.mfa_token,
    'reset token': resetToken!,
    ...Object.fromEntries(recoveryCodes.flatMap((code, index) => [[`recovery code ${index}`, code], [`recovery code ${index}, without dashes`, code.replaceAll('-', '')]]))
  }

  const columns = await sql<Array<{ table: string, column: string }>>`
    select table_name as table, column_name as column from information_schema.columns
    where table_schema = 'public' and (data_type in ('text', 'character varying', 'bytea', 'json', 'jsonb', 'ARRAY', 'USER-DEFINED'))`
  t.ok(columns.length >= 40, `${columns.length} columns read`)
  t.ok(columns.some(({ table, column }) => table === 'factors' && column === 'totp_secret'), 'the sealed TOTP secret among them')
  const found: string[] = []
  for (const { table, column } of columns) {
    const [row] = await sql<Array<{ contents: string | null }>>`select string_agg(${sql(column)}::text, ' ') as contents from ${sql(table)}`
    for (const [what, needle] of Object.entries(needles)) {
      if (row?.contents?.includes(needle) === true) found.push(`${what} in ${table}.${column}`)
    }
  }
  t.same(found, [], 'no secret in clear anywhere')
})

/** RFC 4648 base32, to look for the secret's raw bytes too. */
function base32Decode (text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const character of text) bits += alphabet.indexOf(character).toString(2).padStart(5, '0')
  return Uint8Array.from(bits.match(/.{8}/g) ?? [], (byte) => Number.parseInt(byte, 2))
}
