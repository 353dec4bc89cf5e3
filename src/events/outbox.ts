import { and, asc, eq, gt, inArray, lt, max, sql } from 'drizzle-orm'
import { uuidv7 } from 'uuidv7'
import type { Database } from '../db/connect.ts'
import { retryingConflicts } from '../db/errors.ts'
import { events } from '../db/schema.ts'
import type { ActorType, EventType } from './types.ts'

/** Who made a change and in which request; an anonymous caller acts for the subject. */
export interface ChangeContext {
  /** A user or client id, 'system', or undefined for a caller acting on their own account without a token. */
  actor: string | undefined
  /** The CloudEvents extension `actortype`: what kind of principal `actor` names. */
  actorType: ActorType
  requestId: string | undefined
}

export const SYSTEM_CHANGE: ChangeContext = { actor: 'system', actorType: 'system', requestId: undefined }

export interface Change {
  type: EventType
  /** The user the change is about (for `client.*`, the client). */
  subject: string
  data: Record<string, unknown>
}

const EVENT_SOURCE = '/users-service'
const TYPE_PREFIX = 'users.'
/** NOTIFY channel: events were committed. */
export const EVENTS_RECORDED_CHANNEL = 'events_recorded'

// Any constant shared by every writer of events: pg_advisory_xact_lock takes a bigint.
const EVENT_POSITION_LOCK = 0x75736572_73657674n

/** What a change made (`result`) and the events to record for it. */
export interface Recorded<T> {
  result: T
  changes: Change[]
}

/**
 * Runs `change` in a transaction and records the changes it resolves to as events in the
 * same transaction, as its last statement: the insert goes out together with the COMMIT,
 * so the events cost no round trip of their own, and the lock that orders them (see
 * recordChanges) is held only while the server runs the two (not so on a connection's
 * first use of the insert, which postgres.js has described first). Should the insert
 * fail, the server ends the transaction and the COMMIT rolls it back: nothing is written,
 * and the caller gets an error (PostgreSQL: the insert's; PGlite: its own, that the COMMIT
 * rolled back). Were the insert retried behind the COMMIT (postgres.js retries a prepared
 * statement the server lost), it would run outside the transaction: the patched driver
 * does not (patches/README.md, 3).
 */
export function commitWithEvents<T> (db: Database, context: ChangeContext, change: (tx: Database) => Promise<Recorded<T>>, { repeatable = true }: { repeatable?: boolean } = {}): Promise<T> {
  // A change that lost a race is run again once (see retryingConflicts), unless it reads
  // what it cannot read twice (`repeatable: false`).
  return repeatable ? retryingConflicts(() => commitOnce(db, context, change)) : commitOnce(db, context, change)
}

async function commitOnce<T> (db: Database, context: ChangeContext, change: (tx: Database) => Promise<Recorded<T>>): Promise<T> {
  let recording: Promise<{ failed: unknown } | undefined> | undefined
  const result = await db.transaction(async (tx) => {
    const { result, changes } = await change(tx)
    if (changes.length > 0) {
      // Settled into a value: a failure waits for the COMMIT without being an unhandled rejection.
      recording = recordChanges(tx, context, changes).then(() => undefined, (failed: unknown) => ({ failed }))
      // One turn of the event loop, so that the insert has reached the connection (through
      // microtasks only) before the COMMIT follows it; both are written at the turn's end.
      await new Promise((resolve) => setImmediate(resolve))
    }
    return result
  })
  // PostgreSQL answers a COMMIT after a failed statement by rolling back, without an error
  // (PGlite throws one of its own, above): the insert's error says what happened.
  const outcome = await recording
  if (outcome !== undefined) throw outcome.failed
  return result
}

/**
 * Records changes as events, in the caller's transaction, which must end right after.
 * The transaction-wide lock taken here is held until commit, so events get their
 * positions in commit order: a transaction that started earlier but commits later still
 * gets a later position, and a reader that has seen position n never sees a new event
 * below n. The cost is that writers of events commit one at a time, for the span of one
 * statement and the commit; reads never wait.
 */
async function recordChanges (tx: Database, context: ChangeContext, changes: Change[]): Promise<void> {
  const rows = changes.map((change) => ({
    id: uuidv7(),
    type: TYPE_PREFIX + change.type,
    subject: change.subject,
    data: change.data,
    actor: context.actor ?? change.subject,
    actor_type: context.actorType,
    request_id: context.requestId ?? null
  }))
  // One statement: the insert reads its rows from the lock, so the lock is held before any
  // position is drawn; the NOTIFY (delivered at commit, to every replica listening) wakes the
  // webhook fan-out.
  await tx.execute(sql`
    with locked as (select pg_advisory_xact_lock(${EVENT_POSITION_LOCK}))
    , recorded as (
      insert into ${events} (id, type, subject, data, actor, actor_type, request_id)
      select change.id, change.type, change.subject, change.data, change.actor, change.actor_type, change.request_id
      from locked, jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as change(id uuid, type text, subject uuid, data jsonb, actor text, actor_type text, request_id text)
      returning 1
    )
    select pg_notify(${EVENTS_RECORDED_CHANNEL}, '') from (select count(*) from recorded) as done`)
}

export interface CloudEvent {
  specversion: '1.0'
  id: string
  source: string
  type: string
  subject: string
  time: Date
  datacontenttype: 'application/json'
  data: Record<string, unknown>
  actor: string
  actortype: ActorType
  requestid?: string
}

export interface StoredEvent { position: number, event: CloudEvent }

const columns = { position: events.position, id: events.id, type: events.type, subject: events.subject, time: events.time, data: events.data, actor: events.actor, actorType: events.actorType, requestId: events.requestId }

export function toCloudEvent (row: { id: string, type: string, subject: string, time: Date, data: unknown, actor: string, actorType: string, requestId: string | null }): CloudEvent {
  // The data column holds only what recordChanges wrote: an object.
  return {
    specversion: '1.0',
    id: row.id,
    source: EVENT_SOURCE,
    type: row.type,
    subject: row.subject,
    time: row.time,
    datacontenttype: 'application/json',
    data: row.data as Record<string, unknown>,
    actor: row.actor,
    // The column holds only what recordChanges wrote: one of ACTOR_TYPES.
    actortype: row.actorType as ActorType,
    ...(row.requestId === null ? {} : { requestid: row.requestId })
  }
}

export interface EventQuery {
  /** Only events after this position. */
  after: number
  limit: number
  type?: string | undefined
  subject?: string | undefined
}

/**
 * A page of the feed in position order, and the position to read on from: the last
 * event's, or, when the page is not full, the newest position committed (nothing can
 * appear below it any more), so a filtered reader does not scan the same events again.
 * Both are read in one snapshot: a newest position read later than the page could
 * pass events that committed in between.
 */
export async function readEvents (db: Database, query: EventQuery): Promise<{ events: StoredEvent[], next: number }> {
  return db.transaction(async (tx) => {
    const rows = await tx.select(columns).from(events)
      .where(and(
        gt(events.position, query.after),
        query.type === undefined ? undefined : eq(events.type, query.type),
        query.subject === undefined ? undefined : eq(events.subject, query.subject)
      ))
      .orderBy(asc(events.position))
      .limit(query.limit)
    const found = rows.map((row) => ({ position: row.position, event: toCloudEvent(row) }))
    if (found.length === query.limit) return { events: found, next: found.at(-1)!.position }
    return { events: found, next: Math.max(query.after, await newestPosition(tx)) }
  }, { isolationLevel: 'repeatable read', accessMode: 'read only' })
}

/** The newest committed position; a cursor beyond it was never issued. */
export async function newestPosition (db: Database): Promise<number> {
  const [newest] = await db.select({ position: max(events.position) }).from(events)
  return newest?.position ?? 0
}

/** Deletes up to `batch` events older than the cutoff; resolves to how many went. */
export async function deleteEventsBefore (db: Database, cutoff: Date, batch: number): Promise<number> {
  const oldest = db.select({ position: events.position }).from(events).where(lt(events.time, cutoff)).orderBy(asc(events.position)).limit(batch)
  const deleted = await db.delete(events).where(inArray(events.position, oldest)).returning({ position: events.position })
  return deleted.length
}
