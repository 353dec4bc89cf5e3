import { connect } from 'node:net'
import { eq, sql } from 'drizzle-orm'
import t from 'tap'
import { idempotencyKeys, loginFailures, users } from '../../src/db/schema.ts'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { forEachDatabase, testDatabases } from '../helpers/databases.ts'

const pglite = testDatabases.find((database) => database.name === 'pglite')!

/** Sends raw bytes to a listening app and resolves to what comes back before it closes. */
function rawExchange (port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes))
    let received = ''
    socket.on('data', (chunk) => { received += chunk.toString() })
    socket.on('close', () => resolve(received))
    socket.on('error', reject)
    socket.setTimeout(20_000, () => socket.destroy(new Error('no answer')))
  })
}

function problemOf (raw: string): { status: number, headers: string, body: Record<string, unknown> } {
  const [head = '', body = ''] = raw.split('\r\n\r\n')
  return { status: Number(head.split(' ')[1]), headers: head, body: JSON.parse(body) as Record<string, unknown> }
}

forEachDatabase(t, async (t, database) => {
  const { api, admin, app, signUp } = await buildTestApp(t, await database.create(t))

  t.test('control, NUL and bidi-override characters are refused where text is stored or searched', async (t) => {
    const { user, api: self } = await signUp()
    for (const name of ['a\u0000', 'Ada\u0007', '\u200B', '\u200B\u200C', 'evil\u202Etxt.exe', 'tab\there']) {
      const created = await api.post('/v1/users', newUser({ name }))
      t.equal(created.status, 422, `sign-up with ${JSON.stringify(name)}: 422`)
      t.equal(created.body.errors?.[0]?.pointer, '/name')
      t.equal((await self.patch(`/v1/users/${user.id}`, { name })).status, 422, `PATCH with ${JSON.stringify(name)}: 422`)
    }
    t.equal((await api.post('/v1/users', newUser({ name: 'Zoë \u0627\u200C\u0628' }))).status, 201, 'letters of any script, with a joiner inside, are fine')
    for (const q of ['%00', 'a%00b', '%07']) {
      const listed = await admin.get(`/v1/users?q=${q}`)
      t.equal(listed.status, 400, `q=${q}: 400`)
      t.same(listed.body.errors?.map((error: { pointer: string }) => error.pointer), ['q'])
    }
  })

  t.test('one canonical id form: lower case, no prefix, the same answer for everyone', async (t) => {
    const { user, api: self } = await signUp()
    for (const id of [`urn:uuid:${user.id}`, String(user.id).toUpperCase(), `{${user.id}}`, `${user.id} `]) {
      const path = `/v1/users/${encodeURIComponent(id)}`
      for (const [who, client] of [['the user', self], ['an admin', admin]] as const) {
        const response = await client.get(path)
        t.equal(response.status, 400, `${who} asking for ${JSON.stringify(id)}: 400`)
        t.equal(response.body.errors?.[0]?.pointer, 'id')
      }
    }
    t.equal((await admin.delete(`/v1/users/${user.id}/sessions/${String(user.id).toUpperCase()}`)).status, 400, 'session ids too')
  })

  t.test('a malformed value is told what form it must have, never what the member is for', async (t) => {
    const subject = await admin.get('/v1/events?subject=nope')
    t.equal(subject.status, 400)
    t.same(subject.body.errors, [{ pointer: 'subject', detail: 'must be a UUID' }], 'an id: its format (not "must be Only events about this user.")')
    const name = await api.post('/v1/users', newUser({ name: '\u0007' }))
    t.match(name.body.errors, [{ pointer: '/name', detail: /^must be 1–100 characters after trimming/ }], 'a name: the phrase that describes it')
  })

  t.test('query parameters the operation does not define, and integers not written in decimal, are a 400', async (t) => {
    for (const [query, pointer] of [['role[]=admin', 'role[]'], ['admin=true', 'admin'], ['limit=0x10', 'limit'], ['limit=1e1', 'limit'], ['limit=%2016', 'limit'], ['limit=', 'limit'], ['limit=16.0', 'limit']] as const) {
      const response = await admin.get(`/v1/users?${query}`)
      t.equal(response.status, 400, `${query}: 400`)
      t.same(response.body.errors?.map((error: { pointer: string }) => error.pointer), [pointer], `${query}: points at ${pointer}`)
    }
    t.equal((await admin.get('/v1/users?limit=16')).status, 200, 'a decimal limit is fine')
    const me = await admin.get('/v1/users/me?access_token=abc')
    t.equal(me.status, 400, 'an operation without query parameters takes none')
  })

  t.test('a body in another charset than UTF-8 is a 415; UTF-8 spelled either way is fine', async (t) => {
    const body = JSON.stringify(newUser({ name: 'Zoë' }))
    for (const charset of ['iso-8859-1', 'utf-16', 'windows-1252']) {
      const response = await api.request({ method: 'POST', url: '/v1/users', headers: { 'content-type': `application/json; charset=${charset}` }, payload: body })
      t.equal(response.status, 415, `${charset}: 415`)
    }
    const utf8 = await api.request({ method: 'POST', url: '/v1/users', headers: { 'content-type': 'application/json; charset="UTF-8"' }, payload: body })
    t.equal(utf8.status, 201)
    t.equal(utf8.body.name, 'Zoë')
  })

  t.test('bytes that are not UTF-8 are a 400, never stored as U+FFFD; a form in another charset is a 415', async (t) => {
    const email = newUser().email as string
    const invalid = Buffer.concat([Buffer.from(`{"email":"${email}","password":"correct horse battery","name":"A`), Buffer.from([0xc3, 0x28]), Buffer.from('B"}')])
    const json = await api.request({ method: 'POST', url: '/v1/users', headers: { 'content-type': 'application/json' }, payload: invalid })
    t.equal(json.status, 400, 'JSON: 400')
    t.match(json.body, { type: '/problems/malformed-request', detail: /UTF-8/ })
    t.equal((await app.db.select({ id: users.id }).from(users).where(eq(users.email, email))).length, 0, 'nobody was created')
    const { user } = await signUp()
    const patched = await admin.request({ method: 'PATCH', url: `/v1/users/${user.id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]) })
    t.equal(patched.status, 400, 'merge patch: 400')
    t.equal((await admin.get(`/v1/users/${user.id}`)).body.name, user.name, 'the name is as it was')

    // A latin-1 form: the right password, spelled in another charset, neither logs in nor counts as a failure.
    const password = 'pässword of latin one'
    const { user: owner } = await signUp({ password })
    const form = (encoded: string) => `grant_type=password&username=${encodeURIComponent(owner.email)}&password=${encoded}`
    const latin1 = Buffer.from(password, 'latin1').toString('latin1').split('').map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')
    const percentLatin1 = await api.request({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form(latin1) })
    t.equal(percentLatin1.status, 400, 'percent-encoded latin-1: 400')
    t.equal(percentLatin1.body.error, 'invalid_request')
    const rawLatin1 = await api.request({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: Buffer.from(form(password), 'latin1') })
    t.equal(rawLatin1.status, 400, 'raw latin-1 bytes: 400')
    const declared = await api.request({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' }, payload: form(encodeURIComponent(password)) })
    t.equal(declared.status, 415, 'declared latin-1: 415')
    t.same(await app.db.select().from(loginFailures), [], 'none of them counted as a failed login')
    const utf8 = await api.request({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }, payload: form(encodeURIComponent(password)) })
    t.equal(utf8.status, 200, 'the same password in UTF-8 logs in')
  })

  t.test('a failing query is logged with what an operator needs, never a value of the request', async (t) => {
    const own = await buildTestApp(t, await database.create(t))
    const body = newUser({ password: 'do-not-leak-me' })
    await own.app.db.execute(sql`alter table users rename to users_gone`)
    const response = await own.api.post('/v1/users', body)
    t.equal(response.status, 500)
    const line = own.logs.lines.find((entry) => entry.msg === 'unhandled error') as { err: { code?: string, message: string, stack: string } } | undefined
    t.ok(line, 'logged')
    t.equal(line?.err.code, '42P01', 'the SQLSTATE (undefined table)')
    t.match(line?.err.message, /relation "users" does not exist|Failed query/, 'the message')
    t.match(line?.err.stack, /\n\s+at /, 'the stack')
    t.notMatch(own.logs.raw.join('\n'), new RegExp(`do-not-leak-me|${String(body.email)}`), 'no password, no email')
  })

  t.test('credentials in a URL are redacted in the request log', async (t) => {
    const lines = await buildTestApp(t, await database.create(t))
    await lines.api.get('/v1/users/me?access_token=eyJsecret.part.here&refresh_token=r3fr3sh')
    const entry = lines.logs.lines.find((line) => line.msg === 'request completed' && String(line.url).includes('access_token'))
    t.match(entry, { url: '/v1/users/me?access_token=%5Bredacted%5D&refresh_token=%5Bredacted%5D' })
    t.notMatch(lines.logs.raw.join('\n'), /eyJsecret|r3fr3sh/)
  })
})

t.test('Node\'s own refusals are problems with a request id', async (t) => {
  const { app } = await buildTestApp(t, await pglite.create(t))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }

  const malformed = problemOf(await rawExchange(port, 'GET /v1/users HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'))
  t.equal(malformed.status, 400)
  t.match(malformed.headers, /content-type: application\/problem\+json/i)
  t.match(malformed.headers, /x-request-id: [0-9a-f-]{36}/i)
  t.match(malformed.body, { type: '/problems/malformed-request', status: 400, request_id: String })

  const huge = problemOf(await rawExchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`))
  t.equal(huge.status, 431)
  t.match(huge.body, { type: '/problems/request-header-fields-too-large', status: 431 })

  // What Node would answer bare (400, 417) or by closing the connection (CONNECT).
  const refusals: Array<[string, string, number, string, RegExp]> = [
    ['no Host', 'GET /v1/users/me HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'malformed-request', /Host/],
    ['Expect: 200-ok', 'GET /health/live HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nConnection: close\r\n\r\n', 417, 'expectation-failed', /100-continue/],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405, 'method-not-allowed', /not a proxy/],
    ['two Authorization headers', 'GET /v1/users/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\nConnection: close\r\n\r\n', 400, 'malformed-request', /one Authorization/]
  ]
  for (const [what, request, status, kind, detail] of refusals) {
    const refused = problemOf(await rawExchange(port, request))
    t.equal(refused.status, status, `${what}: ${status}`)
    t.match(refused.headers, /content-type: application\/problem\+json/i, `${what}: a problem`)
    t.match(refused.headers, /x-request-id: [0-9a-f-]{36}/i, `${what}: with a request id`)
    t.match(refused.body, { type: `/problems/${kind}`, status, detail }, `${what}: says why`)
  }
  t.match(await rawExchange(port, 'GET /health/live HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 /, 'HTTP/1.0 needs no Host')
  t.match(await rawExchange(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, '100-continue is met')

  const badUrl = await app.inject('/v1/users/%zz')
  t.equal(badUrl.statusCode, 400)
  t.equal(badUrl.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.ok(badUrl.headers['x-request-id'], 'with a request id')
})

t.test('a missing file under /docs/static is a 404, not a 405; index.html leads to /docs/', async (t) => {
  const { app } = await buildTestApp(t, await pglite.create(t))
  const response = await app.inject('/docs/static/no-such-file.js')
  t.equal(response.statusCode, 404)
  t.equal(response.json().type, '/problems/not-found')
  // Its index.html leads to /docs/, with a query string too (it used to redirect to itself).
  for (const [url, location] of [['/docs/static/index.html', '/docs/'], ['/docs/static/index.html?x=1', '/docs/?x=1']]) {
    const redirect = await app.inject(url!)
    t.equal(redirect.statusCode, 302, `${url}: a redirect`)
    t.equal(redirect.headers.location, location, `${url}: to ${location}`)
    t.equal((await app.inject(location!)).statusCode, 200, `${location}: Swagger UI`)
  }
})

t.test('METRICS_TOKEN keeps /metrics to scrapers that bear it', async (t) => {
  const token = 'a-scraper-token-of-some-length'
  const { app } = await buildTestApp(t, await pglite.create(t), { METRICS_TOKEN: token })
  t.equal((await app.inject('/metrics')).statusCode, 401)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong-token-of-some-length' } })).statusCode, 401)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
})

t.test('refusals that cost nothing to repeat leave no Idempotency-Key behind', async (t) => {
  const { app, api } = await buildTestApp(t, await pglite.create(t))
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const response = await api.post('/v1/users', newUser({ role: 'admin' }), { 'idempotency-key': `flood-${attempt}` })
    t.equal(response.status, 403)
  }
  const keptKeys = async (): Promise<number> => (await app.db.select({ key: idempotencyKeys.key }).from(idempotencyKeys)).length
  t.equal(await keptKeys(), 0, 'no rows kept for 403s')
  t.equal((await api.post('/v1/users', newUser(), { 'idempotency-key': 'kept' })).status, 201)
  t.equal(await keptKeys(), 1, 'a 201 is kept for its replay')
})

t.test('a flood of sign-ups is bounded (503 + Retry-After) and cannot lock users out', async (t) => {
  // The service's own hashing cost: the flood must outrun the hashing queue, which cheap hashes drain too fast.
  const { api, signUp } = await buildTestApp(t, await pglite.create(t), { PASSWORD_HASH_MEMORY_KIB: '19456', PASSWORD_HASH_ITERATIONS: '2' })
  const body = newUser()
  await signUp(body)
  const flood = Array.from({ length: 200 }, () => api.post('/v1/users', newUser()))
  const login = api.post('/v1/auth/token', { email: body.email, password: body.password })
  const [answers, loggedIn] = await Promise.all([Promise.all(flood), login])
  const statuses = answers.map((response) => response.status)
  t.equal(loggedIn.status, 200, 'a login during the flood succeeds')
  t.ok(statuses.includes(503), 'some sign-ups are told to come back')
  t.same([...new Set(statuses)].sort(), [201, 503], 'every sign-up is a 201 or a 503, never a 500')
  const refused = answers.find((response) => response.status === 503)!
  t.equal(refused.headers['retry-after'], '1')
  t.equal(refused.body.type, '/problems/service-unavailable')
})
