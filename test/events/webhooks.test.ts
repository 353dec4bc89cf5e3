import { createHmac, randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { buildTestApp, type TestApp } from '../helpers/app.ts'
import { forEachDatabase, testDatabases } from '../helpers/databases.ts'
import { until } from '../helpers/wait.ts'
import { startWebhookReceiver, type ReceivedWebhook } from '../services/webhook-receiver.ts'

const SECRET = `whsec_${randomBytes(32).toString('base64')}`
const DEADLINE_MS = 60_000
// Retries within a second and a 1 s timeout, so failures and a hang recover quickly here.
const quick = { webhooks: { retry: { firstRetryMs: 100, longestRetryMs: 500 }, pollIntervalMs: 200, timeoutMs: 1_000 } }

interface FeedEvent { id: string, type: string, subject: string }

function eventOf (webhook: ReceivedWebhook): FeedEvent {
  return JSON.parse(webhook.body) as FeedEvent
}

async function feedAbout (testApp: TestApp, subjects: Set<string>): Promise<FeedEvent[]> {
  const events: FeedEvent[] = []
  let after = ''
  for (;;) {
    const page = await testApp.admin.get(`/v1/events?limit=1000${after}`)
    events.push(...page.body.data.filter((event: FeedEvent) => subjects.has(event.subject)))
    if (page.body.data.length < 1000) return events
    after = `&after=${page.body.next_cursor}`
  }
}

/** Each webhook-id's first successful delivery, in the order they happened. */
function firstDeliveries (delivered: ReceivedWebhook[]): FeedEvent[] {
  const seen = new Set<string>()
  return delivered.map(eventOf).filter((event) => !seen.has(event.id) && seen.add(event.id))
}

forEachDatabase(t, async (t, database) => {
  t.test('every event reaches the receiver, signed, in order per user, through failures, a hang and a restart', async (t) => {
    const receiver = await startWebhookReceiver()
    t.teardown(() => receiver.close())
    const settings = await database.create(t, { persistent: true })
    const env = { WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: SECRET }
    const first = await buildTestApp(t, settings, env, quick)
    const subjects = new Set<string>()
    let hungOnce = false
    receiver.behave((webhook, attempt) => {
      const event = eventOf(webhook)
      if (event.type === 'users.user.created' && attempt <= 2) return 500
      if (event.type === 'users.user.updated' && !hungOnce) {
        hungOnce = true
        return 'hang'
      }
      return 204
    })
    for (let index = 0; index < 4; index += 1) {
      const { user, api } = await first.signUp()
      subjects.add(user.id)
      await api.patch(`/v1/users/${user.id}`, { name: `Renamed ${index}` })
    }
    await first.app.close()
    const second = await buildTestApp(t, settings, env, quick)
    for (let index = 0; index < 3; index += 1) {
      const { user, api } = await second.signUp()
      subjects.add(user.id)
      await api.patch(`/v1/users/${user.id}`, { name: `Later ${index}` })
      if (index === 0) await second.admin.delete(`/v1/users/${user.id}`)
    }
    const feed = await feedAbout(second, subjects)
    t.equal(feed.length, 7 * 3 + 1, 'created, session, updated per user; one deleted')
    const delivered = await until(async () => firstDeliveries(receiver.delivered).filter((event) => subjects.has(event.subject)), (done) => done.length >= feed.length, DEADLINE_MS)
    t.same(new Set(delivered.map((event) => event.id)), new Set(feed.map((event) => event.id)), 'every event delivered, none invented')
    for (const subject of subjects) {
      t.same(delivered.filter((event) => event.subject === subject).map((event) => event.id), feed.filter((event) => event.subject === subject).map((event) => event.id), 'in the order of the user\'s changes')
    }
    t.ok(receiver.requests.length > delivered.length, 'failed attempts were retried')

    const verifier = new Webhook(SECRET)
    for (const webhook of receiver.delivered) {
      t.equal(webhook.headers['content-type'], 'application/cloudevents+json')
      t.equal(webhook.headers['webhook-id'], eventOf(webhook).id, 'webhook-id is the event id')
      t.doesNotThrow(() => verifier.verify(webhook.body, webhook.headers as Record<string, string>), 'the stock Standard Webhooks verifier accepts it')
      const signed = `${String(webhook.headers['webhook-id'])}.${String(webhook.headers['webhook-timestamp'])}.${webhook.body}`
      const expected = createHmac('sha256', Buffer.from(SECRET.slice(6), 'base64')).update(signed).digest('base64')
      t.equal(webhook.headers['webhook-signature'], `v1,${expected}`, 'and so does an HMAC computed here')
    }
    const logs = [...first.logs.raw, ...second.logs.raw].join('\n')
    t.notMatch(logs, /the receiver's own words/, 'a receiver\'s answer body is never logged')
    t.match(logs, /"msg":"delivery failed"/, 'failures are logged')
  })

  t.test('a stop during slow deliveries: what was delivered is never sent again, what was held goes out at once', async (t) => {
    const receiver = await startWebhookReceiver()
    t.teardown(() => receiver.close())
    const settings = await database.create(t, { persistent: true })
    const env = { WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: SECRET }
    // A receiver slower than anything: were the stop to wait for it, or the next replica
    // for the lease (twice the timeout), the test would time out.
    const slow = { webhooks: { ...quick.webhooks, timeoutMs: 10 * 60_000 } }
    let answered = 0
    receiver.behave(() => ++answered <= 3 ? 204 : 'hang')
    const first = await buildTestApp(t, settings, env, slow)
    for (let index = 0; index < 4; index += 1) await first.signUp()
    // Three delivered, and at least one send hanging when the stop comes.
    await until(async () => receiver.requests.length, (count) => count > 3, DEADLINE_MS)
    // What SIGTERM does; with sends hanging for ten minutes it must not wait for them.
    await first.app.close()

    receiver.behave(() => 204)
    const second = await buildTestApp(t, settings, env, quick)
    const expected = await feedAbout(second, new Set((await second.admin.get('/v1/users?limit=100')).body.data.map((user: { id: string }) => user.id)))
    t.ok(expected.some((event) => event.type === 'users.user.created' && event.subject === first.adminId), 'the bootstrap admin\'s creation is in the feed')
    const delivered = await until(async () => firstDeliveries(receiver.delivered), (done) => expected.every((event) => done.some((sent) => sent.id === event.id)), DEADLINE_MS)
    t.ok(expected.every((event) => delivered.some((sent) => sent.id === event.id)), 'every event reached the receiver, the bootstrap admin\'s too')
    const answeredIds = receiver.delivered.map((webhook) => eventOf(webhook).id)
    t.equal(answeredIds.length, new Set(answeredIds).size, 'and none that was delivered was sent again')
  })

  t.test('/metrics shows what waits for a receiver that keeps failing', async (t) => {
    const receiver = await startWebhookReceiver()
    t.teardown(() => receiver.close())
    receiver.behave(() => 503)
    const testApp = await buildTestApp(t, await database.create(t), { WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: SECRET }, quick)
    await testApp.signUp()
    await until(async () => receiver.requests.length, (count) => count >= 2, DEADLINE_MS)
    const metrics = (await testApp.app.inject({ method: 'GET', url: '/metrics' })).body
    t.match(metrics, /deliveries_pending\{channel="webhook"\} [1-9]/, 'pending')
    t.match(metrics, /deliveries_failing\{channel="webhook"\} [1-9]/, 'failing')
    t.match(metrics, /deliveries_oldest_pending_age_seconds\{channel="webhook"\} \d/, 'the oldest wait')
  })
})

t.test('two replicas on one PostgreSQL send each event once, never two at once', { skip: testDatabases.find((database) => database.name === 'postgres')!.unavailable }, async (t) => {
  const postgres = testDatabases.find((database) => database.name === 'postgres')!
  const settings = await postgres.create(t)
  const receiver = await startWebhookReceiver()
  t.teardown(() => receiver.close())
  const env = { WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: SECRET }
  const replicas = [await buildTestApp(t, settings, env, quick), await buildTestApp(t, settings, env, quick)]
  const subjects = new Set<string>()
  await Promise.all(Array.from({ length: 20 }, async (_, index) => {
    const created = await replicas[index % 2]!.api.post('/v1/users', { email: `replica${index}@example.com`, name: `Replica ${index}`, password: 'correct horse battery' })
    subjects.add(created.body.id)
  }))
  const feed = await feedAbout(replicas[0]!, subjects)
  const ours = () => receiver.delivered.filter((webhook) => subjects.has(eventOf(webhook).subject))
  await until(async () => ours().length, (count) => count >= feed.length, DEADLINE_MS)
  t.equal(ours().length, feed.length, 'each event delivered once')
  t.equal(new Set(ours().map((webhook) => webhook.headers['webhook-id'])).size, feed.length, 'every event')
  t.equal(receiver.mostAtOnce, 1, 'no event was ever being sent twice at once')
})
