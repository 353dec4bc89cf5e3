import postgres from 'postgres'
import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'

const database = testDatabases.find((candidate) => candidate.name === 'postgres')!
// The migration lock of src/db/connect.ts: what another replica holds while it migrates.
const MIGRATION_LOCK_ID = 0x75736572
// Past Fastify's 10 s per plugin, which made a long wait at start-up a crash.
const HELD_MS = 11_000

t.test('start-up waits as long as another replica migrates, then serves', { skip: database.unavailable }, async (t) => {
  const settings = await database.create(t)
  const replica = postgres(settings.url!, { max: 1, onnotice: () => {} })
  t.teardown(() => replica.end())
  await replica`select pg_advisory_lock(${MIGRATION_LOCK_ID})`
  let started = false
  const building = buildTestApp(t, settings).then((testApp) => {
    started = true
    return testApp
  })
  // A wait in real time: the timeout this proves gone counted real time.
  await new Promise((resolve) => setTimeout(resolve, HELD_MS))
  t.notOk(started, 'not serving while the other replica migrates')
  await replica`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`
  const { api, logs } = await building
  t.equal((await api.get('/health/ready')).status, 200, 'ready once the lock is free')
  t.ok(logs.lines.some((line) => line.msg === 'waiting for migrations (and for any other replica migrating)'), 'the log said what it waited for')
})
