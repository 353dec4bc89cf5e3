import { eq, sql } from 'drizzle-orm'
import t from 'tap'
import { connectDatabase } from '../../src/db/connect.ts'
import { events, users } from '../../src/db/schema.ts'
import { commitWithEvents, SYSTEM_CHANGE } from '../../src/events/outbox.ts'
import { buildTestApp, type Api, type TestApp } from '../helpers/app.ts'
import { forEachDatabase, testDatabases } from '../helpers/databases.ts'
import { startSmtpServer, tokenIn } from '../services/smtp.ts'
import { until } from '../helpers/wait.ts'

interface FeedEvent { id: string, type: string, subject: string, actor: string, requestid?: string, data: Record<string, any> }

/** Follows the feed from `cursor` to its current end; returns the events and where to read on. */
async function readToEnd (admin: Api, cursor?: string, query = ''): Promise<{ events: FeedEvent[], cursor: string }> {
  const events: FeedEvent[] = []
  for (;;) {
    const response = await admin.get(`/v1/events?limit=50${query}${cursor === undefined ? '' : `&after=${cursor}`}`)
    if (response.status !== 200) throw new Error(`feed answered ${response.status}`)
    events.push(...response.body.data)
    const done = response.body.data.length < 50
    cursor = response.body.next_cursor as string
    if (done) return { events, cursor }
  }
}

const smtp = await startSmtpServer()
t.teardown(() => smtp.stop())

forEachDatabase(t, async (t, database) => {
  const testApp: TestApp = await buildTestApp(t, await database.create(t), { SMTP_URL: smtp.url })
  const { app, api, admin, adminId } = testApp

  t.test('every kind of change is an event, with its actor and request id, and no secret', async (t) => {
    const start = (await readToEnd(admin)).cursor
    // The SMTP server serves both databases' runs: an address of this run's own.
    const email = `events.${database.name}@example.com`
    const signUp = await api.post('/v1/users', { email, name: 'Eve', password: 'correct horse battery' }, { 'x-request-id': 'sign-up-1' })
    const id = signUp.body.id
    const login = await api.post('/v1/auth/token', { email, password: 'correct horse battery' })
    const self = api.withToken(login.body.access_token)
    await self.patch(`/v1/users/${id}`, { name: 'Eve Renamed' }, { 'x-request-id': 'rename-1' })
    await self.patch(`/v1/users/${id}`, { password: 'another long passphrase', current_password: 'correct horse battery' })
    await self.post(`/v1/users/${id}/email-verification`, undefined)
    const mail = await until(async () => smtp.mailsTo(email), (found) => found.length > 0, 20_000)
    await api.post('/v1/auth/email-verification/confirm', { token: tokenIn(mail[0]!) })
    await admin.patch(`/v1/users/${id}`, { status: 'disabled' })
    await admin.patch(`/v1/users/${id}`, { status: 'active' })
    await admin.delete(`/v1/users/${id}`)
    const { events } = await readToEnd(admin, start, `&subject=${id}`)
    t.same(events.map((event) => event.type), [
      'users.user.created', 'users.session.created', 'users.user.updated', 'users.user.password_changed',
      'users.user.email_verified', 'users.user.disabled', 'users.session.revoked', 'users.user.enabled', 'users.user.deleted'
    ], 'each change in order; the password change kept the caller\'s own session')
    t.match(events[0], { actor: id, requestid: 'sign-up-1', source: '/users-service', specversion: '1.0', datacontenttype: 'application/json', data: { id, email, status: 'active' } })
    t.match(events[2], { actor: id, requestid: 'rename-1', data: { name: 'Eve Renamed', changed: ['name'] } })
    t.match(events[5], { actor: adminId, data: { status: 'disabled' } })
    t.match(events[6], { actor: adminId, data: { user_id: id } })
    t.match(events[8], { actor: adminId, data: { id, name: 'Eve Renamed' } })
    t.equal(new Set(events.map((event) => event.id)).size, events.length, 'ids are unique')
    const text = JSON.stringify(events)
    t.notMatch(text, /password_hash|argon2|correct horse|another long passphrase/, 'no password or hash')
    t.notMatch(text, new RegExp(login.body.refresh_token), 'no token')
    t.notOk(events.some((event) => 'version' in event.data), 'the representation, not the row')
  })

  t.test('next_cursor is always there; an empty page keeps the place; a new event comes next', async (t) => {
    const { cursor } = await readToEnd(admin)
    const empty = await admin.get(`/v1/events?after=${cursor}`)
    t.same(empty.body.data, [], 'nothing new')
    t.type(empty.body.next_cursor, 'string')
    const created = await api.post('/v1/users', { email: 'later@example.com', name: 'Later', password: 'correct horse battery' })
    const next = await admin.get(`/v1/events?after=${empty.body.next_cursor}`)
    t.same(next.body.data.map((event: FeedEvent) => [event.type, event.subject]), [['users.user.created', created.body.id]])
    const filtered = await admin.get(`/v1/events?after=${cursor}&type=users.session.created`)
    t.same(filtered.body.data, [], 'a filter that matches nothing')
    t.not(filtered.body.next_cursor, cursor, 'still moves the cursor past what it scanned')
  })

  t.test('bad feed queries are 400s naming the parameter; only admins read the feed', async (t) => {
    const newest = (await readToEnd(admin)).cursor
    const future = Buffer.from(`e1:${Number(Buffer.from(newest, 'base64url').toString().slice(3)) + 1000}`).toString('base64url')
    for (const [query, pointer] of [['after=bm90LWEtY3Vyc29y', 'after'], ['after=' + future, 'after'], ['after=ZTE6MDE', 'after'], ['limit=0', 'limit'], ['limit=1001', 'limit'], ['type=users.user.exploded', 'type'], ['subject=nope', 'subject'], ['since=1', 'since']]) {
      const response = await admin.get(`/v1/events?${query}`)
      t.equal(response.status, 400, `${query}: 400`)
      t.match(response.body.errors, [{ pointer }], `${query}: points at ${pointer}`)
    }
    t.equal((await api.get('/v1/events')).status, 401)
    t.equal((await (await testApp.signUp()).api.get('/v1/events')).status, 403)
  })

  t.test('events older than EVENTS_RETENTION_DAYS are deleted, newer ones stay', async (t) => {
    const retaining = await buildTestApp(t, await database.create(t), { EVENTS_RETENTION_DAYS: '1' }, { housekeepingIntervalMs: 100 })
    const { user: old } = await retaining.signUp()
    const { user: recent } = await retaining.signUp()
    await retaining.app.db.execute(sql`update events set time = now() - interval '25 hours' where subject = ${old.id}`)
    const left = await until(async () => (await readToEnd(retaining.admin)).events, (events) => !events.some((event) => event.subject === old.id), 20_000)
    t.notOk(left.some((event) => event.subject === old.id), 'the old user\'s events are gone')
    t.equal(left.filter((event) => event.subject === recent.id).length, 2, 'the recent user\'s stay')
  })

  t.test('a change whose event cannot be recorded is not written, and the caller hears why', async (t) => {
    const created = await api.post('/v1/users', { email: `unrecorded.${database.name}@example.com`, name: 'Una', password: 'correct horse battery' })
    const { cursor } = await readToEnd(admin)
    const attempt = commitWithEvents(app.db, { actor: 'system', actorType: 'system', requestId: 'unrecordable' }, async (tx) => {
      await tx.update(users).set({ name: 'Not Written' }).where(eq(users.id, created.body.id))
      // Not a uuid: the event's insert fails on the server, after the update went through.
      return { result: 'returned', changes: [{ type: 'user.updated', subject: 'not-a-uuid', data: { changed: ['name'] } }] }
    })
    // PostgreSQL rolls back at the COMMIT without an error of its own; PGlite throws one.
    await t.rejects(attempt, database.name === 'postgres' ? { cause: { code: '22P02' } } : /rolled back/, 'the caller hears of it')
    t.equal((await admin.get(`/v1/users/${created.body.id}`)).body.name, 'Una', 'the update was rolled back with it')
    t.same((await readToEnd(admin, cursor)).events, [], 'no event')
    const renamed = await admin.patch(`/v1/users/${created.body.id}`, { name: 'Una Renamed' })
    t.equal(renamed.status, 200, 'the next write goes through')
    t.match((await readToEnd(admin, cursor)).events, [{ type: 'users.user.updated', data: { name: 'Una Renamed' } }], 'with its event')
  })

  t.test('40 concurrent writers: a consumer following the feed sees every event once, each user\'s in order', async (t) => {
    const { cursor: start } = await readToEnd(admin)
    const seen: FeedEvent[] = []
    let cursor = start
    const writers = { running: true }
    const consumer = (async () => {
      while (writers.running) {
        const page = await readToEnd(admin, cursor)
        seen.push(...page.events)
        cursor = page.cursor
        // Injected requests on the embedded database resolve without a trip through the event
        // loop; a consumer that never yields would starve the writers' argon2 callbacks.
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })()
    await Promise.all(Array.from({ length: 40 }, async (_, writer) => {
      const created = await api.post('/v1/users', { email: `writer${writer}@example.com`, name: `Writer ${writer}`, password: 'correct horse battery' })
      await admin.patch(`/v1/users/${created.body.id}`, { name: `Writer ${writer} renamed` })
      if (writer % 4 === 0) {
        // A transaction that began before others and commits after them.
        await commitWithEvents(app.db, { actor: 'system', actorType: 'system', requestId: `held-${writer}` }, async (tx) => {
          // Locks the user as every change does, then dawdles while other writers go on.
          await tx.execute(sql`select id from users where id = ${created.body.id} for update`)
          await new Promise((resolve) => setTimeout(resolve, 20))
          return { result: undefined, changes: [{ type: 'user.updated', subject: created.body.id, data: { changed: [] } }] }
        })
      }
      if (writer % 3 === 0) await admin.delete(`/v1/users/${created.body.id}`)
    }))
    writers.running = false
    await consumer
    seen.push(...(await readToEnd(admin, cursor)).events)
    const everything = (await readToEnd(admin, start)).events
    t.equal(everything.length, 40 * 2 + 10 + 14, 'created, renamed, held updates, deletes')
    t.same(seen.map((event) => event.id), everything.map((event) => event.id), 'the follower saw every event exactly once, in feed order')
    for (const subject of new Set(everything.map((event) => event.subject))) {
      const types = everything.filter((event) => event.subject === subject).map((event) => event.type)
      t.equal(types[0], 'users.user.created', 'created first')
      if (types.includes('users.user.deleted')) t.equal(types.at(-1), 'users.user.deleted', 'deleted last')
    }
  })
})

const postgresDatabase = testDatabases.find((database) => database.name === 'postgres')!
t.test('postgres: an event whose prepared statement the server dropped fails with its change, never after it', { skip: postgresDatabase.unavailable }, async (t) => {
  // One connection: the statements prepared, then dropped, are the ones the next change uses.
  const connection = await connectDatabase({ ...await postgresDatabase.create(t), poolMax: 1 })
  t.teardown(() => connection.close())
  await connection.migrate()
  const { db } = connection
  const [user] = await db.insert(users).values({ id: '0190a0a0-0000-7000-8000-000000000001', email: 'dropped@example.com', name: 'Before', passwordHash: 'x' }).returning()
  const rename = (name: string) => commitWithEvents(db, SYSTEM_CHANGE, async (tx) => {
    // No parameters, so never prepared: only the events' insert meets the dropped statement.
    await tx.execute(sql.raw(`update users set name = '${name}' where id = '${user!.id}'`))
    return { result: name, changes: [{ type: 'user.updated', subject: user!.id, data: { name, changed: ['name'] } }] }
  })
  const recorded = async () => (await db.select({ data: events.data }).from(events).where(eq(events.subject, user!.id))).map((event) => event.data)
  await rename('First')
  await db.execute(sql.raw('deallocate all'))
  // postgres.js retries a statement the server no longer knows (26000). Unpatched, the
  // retry went out behind the COMMIT pipelined after it, and the connection hung
  // (patches/README.md).
  await t.rejects(rename('Second'), { cause: { code: '26000' } }, 'the change fails with its event')
  const [stored] = await db.select({ name: users.name }).from(users).where(eq(users.id, user!.id))
  t.equal(stored!.name, 'First', 'the change was rolled back')
  t.same(await recorded(), [{ name: 'First', changed: ['name'] }], 'and no event was recorded for it')
  await rename('Third')
  t.same((await recorded()).map((data) => (data as { name: string }).name), ['First', 'Third'], 'the next change prepares the statement again')
})
