import { isNotNull } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { connectDatabase, type DatabaseConnection } from '../../src/db/connect.ts'
import { deliveries } from '../../src/db/schema.ts'
import { deliveryBacklog, enqueueDeliveries, type ClaimedDelivery } from '../../src/events/delivery/queue.ts'
import { retryDelayMs, startDeliveryWorker, type WorkerOptions } from '../../src/events/delivery/worker.ts'
import { forEachDatabase } from '../helpers/databases.ts'
import { until } from '../helpers/wait.ts'

const DEADLINE_MS = 20_000
const quiet = { warn () {} }

async function connected (t: Test, settings: Parameters<typeof connectDatabase>[0]): Promise<DatabaseConnection> {
  const connection = await connectDatabase(settings)
  t.teardown(() => connection.close())
  await connection.migrate()
  return connection
}

function workerOptions (connection: DatabaseConnection, send: WorkerOptions['send'], overrides: Partial<WorkerOptions> = {}): WorkerOptions {
  return {
    db: connection.db,
    channel: 'webhook',
    send,
    retry: { firstRetryMs: 50, longestRetryMs: 200, giveUpAfterMs: 60_000 },
    pollIntervalMs: 50,
    leaseMs: 30_000,
    batchSize: 10,
    log: quiet,
    ...overrides
  }
}

t.test('the retry delay doubles with full jitter, within its bounds', async (t) => {
  const policy = { firstRetryMs: 1_000, longestRetryMs: 60_000, giveUpAfterMs: 0 }
  t.equal(retryDelayMs(1, policy, () => 1), 1_000)
  t.equal(retryDelayMs(4, policy, () => 1), 8_000, 'doubles per attempt')
  t.equal(retryDelayMs(40, policy, () => 1), 60_000, 'capped')
  t.equal(retryDelayMs(4, policy, () => 0), 1_000, 'never sooner than the first delay')
  t.equal(retryDelayMs(4, policy, () => 0.5), 4_000, 'jittered below the ceiling')
})

forEachDatabase(t, async (t, database) => {
  t.test('per destination and key, a later delivery waits until the earlier one is through', async (t) => {
    const connection = await connected(t, await database.create(t))
    for (const item of ['a1', 'b1', 'a2', 'b2', 'a3']) {
      await enqueueDeliveries(connection.db, [{ channel: 'webhook', destination: 'http://receiver', orderingKey: item[0], payload: { item } }])
    }
    const attempts: string[] = []
    const delivered: string[] = []
    let a1Failures = 0
    const worker = startDeliveryWorker(workerOptions(connection, async (delivery: ClaimedDelivery) => {
      const { item } = delivery.payload as { item: string }
      attempts.push(item)
      if (item === 'a1' && a1Failures < 2) {
        a1Failures += 1
        throw new Error('receiver refused')
      }
      delivered.push(item)
    }))
    t.teardown(() => worker.stop())
    await until(async () => delivered.length, (count) => count === 5, DEADLINE_MS)
    t.same([...delivered].sort(), ['a1', 'a2', 'a3', 'b1', 'b2'], 'each delivered once')
    t.same(delivered.filter((item) => item.startsWith('a')), ['a1', 'a2', 'a3'], 'key a in order')
    t.same(attempts.filter((item) => item.startsWith('a')), ['a1', 'a1', 'a1', 'a2', 'a3'], 'a2 was not tried before a1 got through')
    t.ok(delivered.indexOf('b2') < delivered.indexOf('a1') || delivered.indexOf('b1') < delivered.indexOf('a1'), 'key b did not wait for key a')
    t.same(await deliveryBacklog(connection.db, 'webhook'), { pending: 0, failing: 0, givenUp: 0, oldestPendingAgeSeconds: 0 }, 'nothing left')
  })

  t.test('past the give-up age a failing delivery stops being retried and stays for an operator', async (t) => {
    const connection = await connected(t, await database.create(t))
    await enqueueDeliveries(connection.db, [{ channel: 'webhook', destination: 'http://receiver', payload: {} }])
    let attempts = 0
    const outcomes: string[] = []
    const worker = startDeliveryWorker(workerOptions(connection, async () => {
      attempts += 1
      throw new Error('always down')
    }, { retry: { firstRetryMs: 10, longestRetryMs: 10, giveUpAfterMs: 0 }, onOutcome: (outcome) => outcomes.push(outcome) }))
    t.teardown(() => worker.stop())
    const failed = await until(() => connection.db.select().from(deliveries).where(isNotNull(deliveries.failedAt)), (rows) => rows.length === 1, DEADLINE_MS)
    t.equal(failed[0]?.lastError, 'always down', 'the reason is kept')
    await worker.stop()
    t.equal(attempts, 1, 'not retried')
    t.same(outcomes, ['given_up'])
    t.match(await deliveryBacklog(connection.db, 'webhook'), { pending: 0, givenUp: 1 })
  })

  t.test('workers sharing the database send each delivery once', async (t) => {
    const settings = await database.create(t)
    // PGlite is one process's embedded database: its "replicas" are two workers on one connection.
    const first = await connected(t, settings)
    const second = database.name === 'postgres' ? await connected(t, settings) : first
    for (let index = 0; index < 60; index += 1) {
      await enqueueDeliveries(first.db, [{ channel: 'mail', destination: `user${index}@example.com`, payload: { index } }])
    }
    const sent: number[] = []
    const send = async (delivery: ClaimedDelivery) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      sent.push((delivery.payload as { index: number }).index)
    }
    const workers = [first, second, first, second].map((connection) => startDeliveryWorker(workerOptions(connection, send, { channel: 'mail', batchSize: 4 })))
    t.teardown(() => Promise.all(workers.map((worker) => worker.stop())))
    await until(async () => sent.length, (count) => count >= 60, DEADLINE_MS)
    await Promise.all(workers.map((worker) => worker.stop()))
    t.equal(sent.length, 60, 'no delivery sent twice')
    t.equal(new Set(sent).size, 60, 'every delivery sent')
  })

  t.test('workers sharing the database keep each key in order and never send one key twice at once', async (t) => {
    const settings = await database.create(t)
    const first = await connected(t, settings)
    const second = database.name === 'postgres' ? await connected(t, settings) : first
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5']
    for (let sequence = 0; sequence < 8; sequence += 1) {
      await enqueueDeliveries(first.db, keys.map((key) => ({ channel: 'webhook', destination: 'http://receiver', orderingKey: key, payload: { key, sequence } })))
    }
    const delivered = new Map<string, number[]>(keys.map((key) => [key, []]))
    const inFlight = new Set<string>()
    let overlaps = 0
    let calls = 0
    const send = async (delivery: ClaimedDelivery) => {
      const { key, sequence } = delivery.payload as { key: string, sequence: number }
      if (inFlight.has(key)) overlaps += 1
      inFlight.add(key)
      calls += 1
      await new Promise((resolve) => setTimeout(resolve, 1 + (calls % 4)))
      inFlight.delete(key)
      // Every fifth call fails: the rest of that key's claim must wait for its retry.
      if (calls % 5 === 0) throw new Error('receiver refused')
      delivered.get(key)!.push(sequence)
    }
    const workers = [first, second, first, second].map((connection) => startDeliveryWorker(workerOptions(connection, send, { batchSize: 7 })))
    t.teardown(() => Promise.all(workers.map((worker) => worker.stop())))
    await until(async () => [...delivered.values()].every((list) => list.length >= 8), (done) => done, DEADLINE_MS)
    await Promise.all(workers.map((worker) => worker.stop()))
    t.equal(overlaps, 0, 'one delivery of a key in flight at a time')
    for (const key of keys) t.same(delivered.get(key), [0, 1, 2, 3, 4, 5, 6, 7], `${key} delivered once each, in order`)
  })

  t.test('what a claim cannot start within half its lease is released unsent and uncounted', async (t) => {
    const connection = await connected(t, await database.create(t))
    await enqueueDeliveries(connection.db, ['a1', 'a2'].map((item) => ({ channel: 'webhook', destination: 'http://receiver', orderingKey: 'a', payload: { item } })))
    const sends: Array<{ item: string, attempts: number, rowsLeft: number }> = []
    const worker = startDeliveryWorker(workerOptions(connection, async (delivery: ClaimedDelivery) => {
      const { item } = delivery.payload as { item: string }
      // a1's row goes when its round ends: a2 sent in that same round would still see it.
      sends.push({ item, attempts: delivery.attempts, rowsLeft: (await connection.db.select().from(deliveries)).length })
      // The first send outlasts half of the 400 ms lease: a2, claimed with it, must not start in that round.
      if (item === 'a1') await new Promise((resolve) => setTimeout(resolve, 300))
    }, { leaseMs: 400 }))
    t.teardown(() => worker.stop())
    await until(async () => sends.length, (count) => count === 2, DEADLINE_MS)
    await worker.stop()
    t.same(sends, [{ item: 'a1', attempts: 1, rowsLeft: 2 }, { item: 'a2', attempts: 1, rowsLeft: 1 }], 'a2 sent by a later claim, after a1, its release not counted as an attempt')
    t.match(await deliveryBacklog(connection.db, 'webhook'), { pending: 0 })
  })
})
