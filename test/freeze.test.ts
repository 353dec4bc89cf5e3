import t from 'tap'
import { buildTestApp, newUser } from './helpers/app.js'
import { startPostgres } from './services/postgres.js'
import { until } from './helpers/wait.js'

// This test freezes its database, so it starts a PostgreSQL of its own rather than the suite's shared one.
const unavailable = process.env.TEST_POSTGRES_URL === undefined && process.env.CI !== 'true'
  ? 'TEST_POSTGRES_URL is not set (no PostgreSQL for this run): run the suite with `npm test`'
  : undefined

// Far longer than the deadline under test: a request still open then is a hang.
const CLIENT_ABORT_MS = 20_000

/** The answer, or a failure if there is none long after the deadline under test: a hang. */
function answeredWithin<T> (answer: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CLIENT_ABORT_MS} ms: the request hangs`)), CLIENT_ABORT_MS)
  })
  return Promise.race([answer, hang]).finally(() => clearTimeout(timer))
}

t.test('a frozen PostgreSQL is a 503 with Retry-After at the client-side deadline, not a hang; service recovers on thaw', { skip: unavailable }, async (t) => {
  const server = await startPostgres()
  t.teardown(() => server.destroy())
  const { api, signUp } = await buildTestApp(t, { url: server.url, pgliteDataDir: 'memory://', poolMax: 5, connectTimeoutMs: 1000, statementTimeoutMs: 2000, queryTimeoutMs: 1000 }, { PRINCIPAL_CACHE_TTL_MS: '0' })
  const listening = await api.overHttp()
  const { user, token } = await signUp()
  const self = listening.withToken(token)
  t.equal((await self.get('/v1/users/me')).status, 200, 'served before the freeze')

  const thaw = server.freeze()
  // Whatever happens below, PostgreSQL is not left frozen.
  t.teardown(thaw)
  const [read, write, signUpDuring] = await Promise.all([
    answeredWithin(self.get('/v1/users/me')),
    answeredWithin(self.patch(`/v1/users/${user.id}`, { name: 'Written During The Freeze' })),
    answeredWithin(listening.post('/v1/users', newUser()))
  ])
  for (const [what, response] of [['a read', read], ['a write', write], ['a sign-up (a transaction)', signUpDuring]] as const) {
    t.equal(response.status, 503, `${what}: 503, not a hang`)
    t.equal(response.headers['retry-after'], '5', `${what}: Retry-After`)
    t.equal(response.body.type, '/problems/service-unavailable', `${what}: a problem`)
  }
  t.equal((await listening.get('/health/live')).status, 200, 'liveness stays up')
  t.equal((await listening.get('/health/ready')).status, 503, 'readiness says so')

  thaw()
  const recovered = await until(() => self.get('/v1/users/me'), (response) => response.status === 200, 30_000)
  t.equal(recovered.status, 200, 'served again once PostgreSQL thaws, without a restart')
  t.equal((await until(() => listening.get('/health/ready'), (response) => response.status === 200, 30_000)).status, 200, 'ready again')
  t.equal((await self.patch(`/v1/users/${user.id}`, { name: 'Written After' })).status, 200, 'writes work again')
})
