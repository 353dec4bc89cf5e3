/**
 * POST /v1/users/import: users with the hashes real producers make log in with their old
 * passwords; bad lines fail or are skipped alone, with pointers; the limits are 413s.
 */
import { randomBytes, scryptSync } from 'node:crypto'
import bcrypt from 'bcryptjs'
import { eq } from 'drizzle-orm'
import t from 'tap'
import { users } from '../../src/db/schema.ts'
import { buildTestApp, type Api } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

const NDJSON = { 'content-type': 'application/x-ndjson' }
const FIREBASE = '$firescrypt$ln=14,r=8,p=1$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=='
let counter = 0
const unique = (name: string) => `${name}.${++counter}.${process.pid}.${Date.now()}@example.com`

function scryptPhc (password: string): string {
  const salt = randomBytes(16)
  const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '')
  return `$scrypt$ln=12,r=8,p=1$${b64(salt)}$${b64(scryptSync(password, salt, 32, { N: 2 ** 12, r: 8, p: 1 }))}`
}

async function importedClient (admin: Api, scopes: string[]): Promise<Api> {
  const client = (await admin.post('/v1/clients', { name: `importer-${++counter}-${Date.now()}`, scopes })).body
  return admin.withToken((await admin.post(`/v1/clients/${client.id as string}/api-keys`, { name: 'import' })).body.key)
}

forEachDatabase(t, async (t, database) => {
  const { admin, api, app } = await buildTestApp(t, await database.create(t), { IMPORT_BODY_LIMIT_BYTES: '1000000' })

  t.test('users with foreign hashes log in with their old passwords, which become argon2id', async (t) => {
    const people = [
      { email: unique('rails'), name: 'Rails User', password_hash: bcrypt.hashSync('rails password', 6), created_at: '2019-04-01T10:00:00Z', email_verified: true, external_id: `ext-${counter}` },
      { email: unique('firebase'), name: 'Firebase User', password_hash: FIREBASE },
      { email: unique('scrypt'), name: 'Scrypt User', password_hash: scryptPhc('scrypt password'), role: 'admin' },
      { email: unique('none'), name: 'No Password', status: 'disabled' }
    ]
    const imported = await admin.post('/v1/users/import', { users: people })
    t.equal(imported.status, 200)
    t.match(imported.body, { created: 4, skipped: 0, failed: 0 })
    t.same(imported.body.results.map((result: { index: number, status: string }) => [result.index, result.status]), [[0, 'created'], [1, 'created'], [2, 'created'], [3, 'created']])
    const [rails] = await app.db.select().from(users).where(eq(users.email, people[0]!.email))
    t.match(rails, { emailVerified: true, externalId: people[0]!.external_id, createdAt: new Date('2019-04-01T10:00:00Z') }, 'what the line said is kept')

    for (const [person, password] of [[people[0]!, 'rails password'], [people[1]!, 'user1password'], [people[2]!, 'scrypt password']] as const) {
      t.equal((await api.post('/v1/auth/token', { email: person.email, password: `${password}x` })).status, 401, `${person.name}: a wrong password is refused`)
      t.equal((await api.post('/v1/auth/token', { email: person.email, password })).status, 200, `${person.name}: the old password logs in`)
      const [stored] = await app.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.email, person.email))
      t.ok(app.domain.passwords.isCurrent(stored!.passwordHash!), `${person.name}: stored as argon2id after`)
      t.equal((await api.post('/v1/auth/token', { email: person.email, password })).status, 200, `${person.name}: and still logs in`)
    }
    const events = (await admin.get('/v1/events?limit=100')).body.data.filter((event: { subject: string }) => event.subject === imported.body.results[1].id)
    t.match(events, [{ type: 'users.user.created', data: { imported: true, email: people[1]!.email } }], 'one created event per user, marked imported')
    t.notMatch(JSON.stringify(events), /firescrypt|lSrfV15/, 'without the hash')
  })

  t.test('each line is judged on its own; the rest is imported', async (t) => {
    const taken = (await admin.post('/v1/users', { email: unique('taken'), name: 'Taken', password: 'correct horse battery' })).body.email as string
    const good = unique('good')
    const lines = [
      JSON.stringify({ email: good, name: 'Good', password_hash: bcrypt.hashSync('pw', 4) }),
      JSON.stringify({ email: unique('malformed'), name: 'Malformed', password_hash: '$2b$10$short' }),
      JSON.stringify({ email: unique('unknown'), name: 'Unknown', password_hash: '{SHA}abc' }),
      JSON.stringify({ email: unique('bounds'), name: 'Bounds', password_hash: '$scrypt$ln=22,r=8,p=1$c2FsdA$aGFzaA' }),
      JSON.stringify({ email: good.toUpperCase(), name: 'Again' }),
      JSON.stringify({ email: taken, name: 'Taken again' }),
      JSON.stringify({ email: 42, name: ['not', 'a', 'name'], role: 'root', extra: true }),
      '{"email": "broken@example.com", ',
      '',
      JSON.stringify({ email: unique('last'), name: 'Last' })
    ].join('\n')
    const imported = await admin.post('/v1/users/import', `${lines}\n\xff\xfe\n`, NDJSON)
    t.equal(imported.status, 200)
    const byIndex = (index: number) => imported.body.results.find((result: { index: number }) => result.index === index)
    t.match(byIndex(0), { status: 'created' })
    t.match(byIndex(1), { status: 'failed', errors: [{ pointer: '/password_hash', detail: /not a bcrypt hash/ }] })
    t.match(byIndex(2), { status: 'failed', errors: [{ pointer: '/password_hash', detail: /format is not one of/ }] })
    t.match(byIndex(3), { status: 'failed', errors: [{ pointer: '/password_hash', detail: /out of bounds/ }] })
    t.match(byIndex(4), { status: 'skipped', errors: [{ pointer: '/email', detail: 'came earlier in this request, at index 0' }] })
    t.match(byIndex(5), { status: 'skipped', errors: [{ pointer: '/email', detail: /exists already/ }] })
    t.same(byIndex(6).errors.map((error: { pointer: string }) => error.pointer).sort(), ['/email', '/extra', '/name', '/role'])
    t.match(byIndex(7), { status: 'failed', errors: [{ pointer: '', detail: 'is not JSON' }] })
    t.match(byIndex(8), { status: 'created' }, 'blank lines do not count')
    t.match(byIndex(9), { status: 'failed', errors: [{ pointer: '' }] }, 'a line that is not UTF-8 fails alone')
    t.match(imported.body, { created: 2, skipped: 2, failed: 6 })
  })

  t.test('an external_id is unique too', async (t) => {
    const externalId = `ext-unique-${Date.now()}`
    await admin.post('/v1/users/import', { users: [{ email: unique('first'), name: 'First', external_id: externalId }] })
    const again = await admin.post('/v1/users/import', { users: [{ email: unique('second'), name: 'Second', external_id: externalId }, { email: unique('third'), name: 'Third', external_id: `${externalId}-b` }, { email: unique('fourth'), name: 'Fourth', external_id: `${externalId}-b` }] })
    t.match(again.body.results, [{ status: 'skipped', errors: [{ pointer: '/external_id' }] }, { status: 'created' }, { status: 'skipped', errors: [{ pointer: '/external_id', detail: /earlier in this request/ }] }])
  })

  t.test('who may import, and the limits', async (t) => {
    const person = (await admin.post('/v1/users', { email: unique('person'), name: 'Person', password: 'correct horse battery' })).body
    const asPerson = await api.loginAs(person.email, 'correct horse battery')
    t.equal((await asPerson.post('/v1/users/import', { users: [] })).status, 403)
    const importer = await importedClient(admin, ['users:import'])
    const byClient = await importer.post('/v1/users/import', { users: [{ email: unique('byclient'), name: 'By Client', role: 'admin' }] })
    t.match(byClient.body, { created: 1 }, 'a client with users:import may, roles included')
    t.equal((await admin.post('/v1/users/import', { users: Array.from({ length: 10_001 }, (_, index) => ({ email: `n${index}@e.co`, name: 'N' })) })).status, 413, 'more than 10,000 users (JSON)')
    const tooMany = Array.from({ length: 10_001 }, () => '{}').join('\n')
    t.equal((await admin.post('/v1/users/import', tooMany, NDJSON)).status, 413, 'more than 10,000 users (NDJSON)')
    const before = unique('before')
    const tooLong = `${JSON.stringify({ email: before, name: 'Before' })}\n${JSON.stringify({ email: unique('long'), name: 'x'.repeat(1_100_000) })}`
    t.equal((await admin.post('/v1/users/import', tooLong, NDJSON)).status, 413, 'more than IMPORT_BODY_LIMIT_BYTES')
    t.equal((await admin.get(`/v1/users?email=${encodeURIComponent(before)}`)).body.data.length, 0, 'a refused request imports nothing, not even the lines before')
    t.equal((await admin.post('/v1/users/import', 'users', { 'content-type': 'text/csv' })).status, 415)
    t.equal((await admin.post('/v1/users/import', { people: [] })).status, 422, 'a JSON body of another shape')
    t.equal((await admin.post('/v1/users/import', '{"users": [', { 'content-type': 'application/json' })).status, 400, 'a JSON body that is not JSON')
  })
})
