import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { memoryDatabase, forEachDatabase } from '../helpers/databases.ts'
import { until } from '../helpers/wait.ts'

const memory = await memoryDatabase()

function sample (text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}${labels} `))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

t.test('/metrics: requests by route template and status, process metrics, the database pool', async (t) => forEachDatabase(t, async (t, database) => {
  const settings = await database.create(t)
  const { app, admin, adminId, api } = await buildTestApp(t, settings, { RATE_LIMIT_MAX: '1000' })
  await admin.get(`/v1/users/${adminId}`)
  await admin.get(`/v1/users/${adminId}`)
  await api.get('/v1/users/me')

  const response = await app.inject('/metrics')
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = response.body
  t.equal(sample(text, 'http_request_duration_seconds_count', '{method="GET",route="/v1/users/:id",status_code="200"}'), 2, 'by route template, not by path')
  t.equal(sample(text, 'http_request_duration_seconds_count', '{method="GET",route="/v1/users/me",status_code="401"}'), 1)
  t.match(text, /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/v1\/users\/:id",status_code="200"\}/, 'a duration histogram')
  t.notMatch(text, new RegExp(adminId), 'no ids in labels')
  t.ok(sample(text, 'process_cpu_user_seconds_total') !== undefined, 'process metrics')
  t.ok(sample(text, 'nodejs_heap_size_used_bytes') !== undefined)
  t.equal(sample(text, 'db_pool_max_connections'), database.name === 'pglite' ? 1 : settings.poolMax)
  // Background loops (housekeeping, the mail worker) run statements of their own at start-up: the gauge goes back to 0.
  const inFlight = await until(async () => sample((await app.inject('/metrics')).body, 'db_statements_in_flight'), (value) => value === 0, 20_000)
  t.equal(inFlight, 0, 'statements in flight go back to 0')
  t.ok((sample(text, 'db_statement_duration_seconds_count', '{outcome="ok"}') ?? 0) >= 3, 'statements are timed')
  t.notOk('ratelimit-policy' in response.headers, 'not rate limited')
  t.notOk(JSON.stringify(app.swagger()).includes('/metrics'), 'not an operation of the API document')
}))

t.test('METRICS_ENABLED=false removes the endpoint', async (t) => {
  const { app } = await buildTestApp(t, memory, { METRICS_ENABLED: 'false' })
  const response = await app.inject('/metrics')
  t.equal(response.statusCode, 404)
  t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
})
