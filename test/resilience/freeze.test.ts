import postgres from 'postgres'
import t from 'tap'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { startPostgres } from '../services/postgres.ts'
import { until } from '../helpers/wait.ts'

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
  // The principal cache (on by default) remembers the user's role, so the PATCH gets past
  // authentication without the database and reaches its transaction (postgres.js begin()).
  const { app, api, signUp } = await buildTestApp(t, { url: server.url, pgliteDataDir: 'memory://', poolMax: 5, connectTimeoutMs: 10_000, statementTimeoutMs: 2000, queryTimeoutMs: 1000 })
  const statements: string[] = []
  app.database.observers.add((statement) => { statements.push(statement); return () => {} })
  const listening = await api.overHttp()
  const { user, token } = await signUp()
  const self = listening.withToken(token)
  // Concurrent requests open several pool connections: during the freeze some statements
  // go out on open connections, others wait for a connection (whose connect timeout is far
  // longer than the deadline: the deadline must cover that wait).
  const before = await Promise.all(Array.from({ length: 5 }, () => self.get('/v1/users/me')))
  t.same(before.map((response) => response.status), [200, 200, 200, 200, 200], 'served before the freeze')

  const thaw = server.freeze()
  statements.length = 0
  // Whatever happens below, PostgreSQL is not left frozen.
  t.teardown(thaw)
  const [read, write, signUpDuring] = await Promise.all([
    answeredWithin(self.get('/v1/users/me')),
    answeredWithin(self.patch(`/v1/users/${user.id}`, { name: 'Written During The Freeze' })),
    answeredWithin(listening.post('/v1/users', newUser()))
  ])
  for (const [what, response] of [['a read', read], ['a write (a transaction)', write], ['a sign-up (one statement)', signUpDuring]] as const) {
    t.equal(response.status, 503, `${what}: 503, not a hang`)
    t.equal(response.headers['retry-after'], '5', `${what}: Retry-After`)
    t.equal(response.body.type, '/problems/service-unavailable', `${what}: a problem`)
  }
  t.ok(statements.some((statement) => /^begin\b/i.test(statement)), 'the PATCH got as far as its transaction')
  t.equal((await listening.get('/health/live')).status, 200, 'liveness stays up')
  t.equal((await listening.get('/health/ready')).status, 503, 'readiness says so')

  thaw()
  const recovered = await until(() => self.get('/v1/users/me'), (response) => response.status === 200, 30_000)
  t.equal(recovered.status, 200, 'served again once PostgreSQL thaws, without a restart')
  t.equal((await until(() => listening.get('/health/ready'), (response) => response.status === 200, 30_000)).status, 200, 'ready again')

  // The PATCH's transaction could not have sent its COMMIT while frozen: past its deadline
  // it is rolled back at the thaw, not committed. (The sign-up, one statement already sent,
  // may or may not have run: nothing is asserted about it.) Wait until no transaction of
  // the service is open, so one that would still commit has done so.
  const direct = postgres(server.url, { max: 1, onnotice: () => {} })
  t.teardown(() => direct.end({ timeout: 1 }))
  const open = await until(async () => (await direct`select count(*)::int as n from pg_stat_activity where application_name = 'users-service' and xact_start is not null`)[0]!.n as number, (n) => n === 0, 20_000)
  t.equal(open, 0, 'no transaction of the service is left open')
  t.equal((await self.get('/v1/users/me')).body.name, user.name, 'the write answered 503 was rolled back, not committed at the thaw')
  t.equal((await self.patch(`/v1/users/${user.id}`, { name: 'Written After' })).status, 200, 'writes work again')
})
