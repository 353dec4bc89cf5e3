import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'

const pglite = testDatabases.find((database) => database.name === 'pglite')!

t.test('security headers on API responses and problems, nothing that names the stack', async (t) => {
  const { app } = await buildTestApp(t, await pglite.create(t))
  for (const url of ['/health/live', '/v1/users/me', '/nowhere']) {
    const response = await app.inject(url)
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`)
    t.equal(response.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'", `${url}: a JSON answer loads nothing and is never framed`)
    t.equal(response.headers['x-frame-options'], 'DENY', `${url}: framing`)
    t.equal(response.headers['cache-control'], 'no-store', `${url}: not kept by caches`)
    t.notOk(response.headers['cross-origin-opener-policy'], `${url}: none of the headers for HTML documents`)
    t.notOk(response.headers['x-powered-by'], `${url}: no X-Powered-By`)
    t.notOk(response.headers['strict-transport-security'], `${url}: HSTS is left to the TLS terminator`)
  }
})

t.test('Swagger UI works under the CSP: every script and style it loads is same-origin', async (t) => {
  const { app } = await buildTestApp(t, await pglite.create(t))
  const page = await app.inject('/docs/')
  t.equal(page.statusCode, 200)
  t.equal(page.headers['x-frame-options'], 'SAMEORIGIN', 'helmet\'s headers for documents')
  t.equal(page.headers['cross-origin-opener-policy'], 'same-origin')
  t.notOk(page.headers['cache-control'] === 'no-store', 'the static page may be cached')
  const csp = String(page.headers['content-security-policy'])
  t.match(csp, /script-src 'self'(;| )/)
  t.notMatch(csp, /upgrade-insecure-requests/, 'plain HTTP on localhost keeps working')
  t.notMatch(page.body, /<script>(?!\s*<\/script>)/, 'no inline scripts for the CSP to block')
})

t.test('CORS is off by default', async (t) => {
  const { app } = await buildTestApp(t, await pglite.create(t))
  const response = await app.inject({ url: '/health/live', headers: { origin: 'https://app.example' } })
  t.notOk(response.headers['access-control-allow-origin'])
})

t.test('behind a trusted proxy the metadata still names PUBLIC_URL, never X-Forwarded-Host', async (t) => {
  const { app } = await buildTestApp(t, await pglite.create(t), { TRUST_PROXY: '1', PUBLIC_URL: 'https://users.example.com' })
  const metadata = await app.inject({ url: '/.well-known/oauth-authorization-server', headers: { host: 'attacker.example', 'x-forwarded-host': 'attacker.example', 'x-forwarded-proto': 'http' } })
  t.equal(metadata.statusCode, 200)
  t.match(metadata.json(), { jwks_uri: 'https://users.example.com/.well-known/jwks.json', token_endpoint: 'https://users.example.com/v1/auth/token' })
  t.notMatch(metadata.body, /attacker/, 'a shared cache cannot be poisoned through it')
})

t.test('CORS_ORIGIN allows exactly the listed origins', async (t) => {
  const { app } = await buildTestApp(t, await pglite.create(t), { CORS_ORIGIN: 'https://app.example' })
  const allowed = await app.inject({ method: 'OPTIONS', url: '/v1/users', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } })
  t.equal(allowed.statusCode, 204)
  t.equal(allowed.headers['access-control-allow-origin'], 'https://app.example')
  // What a browser checks before it sends a write: every method of the API, every header it reads.
  const requested = ['authorization', 'content-type', 'if-match', 'if-none-match', 'idempotency-key', 'x-request-id', 'traceparent']
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']) {
    const preflight = await app.inject({ method: 'OPTIONS', url: '/v1/users/0190d9a2-0000-7000-8000-000000000000', headers: { origin: 'https://app.example', 'access-control-request-method': method, 'access-control-request-headers': requested.join(', ') } })
    t.equal(preflight.statusCode, 204, `${method}: preflight answered`)
    t.ok(String(preflight.headers['access-control-allow-methods']).split(/,\s*/).includes(method), `${method}: allowed`)
    const allowedHeaders = String(preflight.headers['access-control-allow-headers']).toLowerCase().split(/,\s*/)
    t.same(requested.filter((header) => !allowedHeaders.includes(header)), [], `${method}: every header the API reads is allowed`)
  }
  const simple = await app.inject({ url: '/health/live', headers: { origin: 'https://app.example' } })
  t.match(simple.headers['access-control-expose-headers'], /X-Request-ID/)
  const refused = await app.inject({ url: '/health/live', headers: { origin: 'https://evil.example' } })
  t.notOk(refused.headers['access-control-allow-origin'])
})
