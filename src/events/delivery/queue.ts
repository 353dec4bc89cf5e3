import { eq, inArray, sql } from 'drizzle-orm'
import type { Database } from '../../db/connect.ts'
import { deliveries } from '../../db/schema.ts'

export const DELIVERY_CHANNELS = ['mail', 'webhook'] as const

/** What a delivery is sent through: each channel has its own worker. */
export type Channel = typeof DELIVERY_CHANNELS[number]

export interface NewDelivery {
  channel: Channel
  destination: string
  /** Deliveries with the same destination and key go out one at a time, in the order they were written. */
  orderingKey?: string | undefined
  payload: unknown
}

/** Records work for the outside world; pass the transaction of the change that causes it. */
export async function enqueueDeliveries (tx: Database, batch: NewDelivery[]): Promise<void> {
  if (batch.length === 0) return
  await tx.insert(deliveries).values(batch.map((delivery) => ({
    channel: delivery.channel,
    destination: delivery.destination,
    orderingKey: delivery.orderingKey,
    payload: delivery.payload
  })))
}

export interface ClaimedDelivery {
  id: number
  destination: string
  orderingKey: string | null
  payload: unknown
  /** Including the one just claimed. */
  attempts: number
  createdAt: Date
}

// Any constant shared by every claimer of deliveries: pg_advisory_xact_lock takes a bigint.
const CLAIM_LOCK = 0x75736572_636c6169n

/**
 * Takes up to `limit` due deliveries of a channel, oldest first (and in that order), for `leaseMs`. The lease
 * (not a held transaction) keeps a claimed row from other replicas while it is being
 * sent, and frees it if this replica dies mid-way. A row waits while an older one of its
 * destination and ordering key waits (a retry not yet due) or is leased elsewhere; older
 * rows of its key claimed in the same batch come back with it, and the caller sends them
 * in order (see the worker), so per-key order holds across retries and replicas.
 * Claims are serialized by a transaction-scoped lock: each sees the leases of the claim
 * before it (SKIP LOCKED alone would let two claims split one key's rows between them),
 * and a claim lasts milliseconds, while sending takes the time.
 */
export async function claimDeliveries (db: Database, channel: Channel, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  // The first waiting row of each key that has one (few: keys whose receiver failed, or
  // leased elsewhere), computed once, so that each candidate is checked against it rather
  // than against every older row of its key.
  const due = sql`
    with waiting as materialized (
      select destination, ordering_key, min(id) as first_id from ${deliveries}
      where channel = ${channel} and failed_at is null and ordering_key is not null
        and (available_at > now() or locked_until > now())
      group by destination, ordering_key
    )
    select id from ${deliveries} as candidate
    where channel = ${channel} and failed_at is null and available_at <= now()
      and (locked_until is null or locked_until <= now())
      and not exists (
        select 1 from waiting
        where waiting.destination = candidate.destination and waiting.ordering_key = candidate.ordering_key and waiting.first_id < candidate.id
      )
    order by id
    limit ${limit}`
  const claimed = await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${CLAIM_LOCK})`)
    return tx.update(deliveries)
      .set({ lockedUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})`, attempts: sql`${deliveries.attempts} + 1` })
      .where(sql`${deliveries.id} in (${due})`)
      .returning({ id: deliveries.id, destination: deliveries.destination, orderingKey: deliveries.orderingKey, payload: deliveries.payload, attempts: deliveries.attempts, createdAt: deliveries.createdAt })
  })
  // RETURNING comes in the order the rows were updated, which need not be theirs.
  return claimed.sort((a, b) => a.id - b.id)
}

/** Delivered: nothing is kept (a mail holds a token in clear until then). */
export async function completeDeliveries (db: Database, ids: number[]): Promise<void> {
  if (ids.length > 0) await db.delete(deliveries).where(inArray(deliveries.id, ids))
}

/** Claimed but not attempted (an older one of the key failed first): due again, the claim uncounted. */
export async function releaseDeliveries (db: Database, ids: number[]): Promise<void> {
  if (ids.length > 0) await db.update(deliveries).set({ lockedUntil: null, attempts: sql`${deliveries.attempts} - 1` }).where(inArray(deliveries.id, ids))
}

/** Failed this time: due again after `retryInMs`, or never again when `giveUp`. */
export async function failDelivery (db: Database, id: number, error: string, outcome: { retryInMs: number } | { giveUp: true }): Promise<void> {
  await db.update(deliveries).set({
    lockedUntil: null,
    lastError: error.slice(0, 500),
    ...('giveUp' in outcome
      ? { failedAt: sql`now()` }
      : { availableAt: sql`now() + make_interval(secs => ${outcome.retryInMs / 1000})` })
  }).where(eq(deliveries.id, id))
}

export interface DeliveryBacklog {
  pending: number
  /** Pending, and the last attempt failed. */
  failing: number
  givenUp: number
  oldestPendingAgeSeconds: number
}

/** What /metrics shows of a channel: how much waits, how much keeps failing or was given up, and the oldest wait. */
export async function deliveryBacklog (db: Database, channel: Channel): Promise<DeliveryBacklog> {
  const [row] = await db.select({
    pending: sql<number>`count(*) filter (where ${deliveries.failedAt} is null)::int`,
    failing: sql<number>`count(*) filter (where ${deliveries.failedAt} is null and ${deliveries.lastError} is not null)::int`,
    givenUp: sql<number>`count(*) filter (where ${deliveries.failedAt} is not null)::int`,
    oldest: sql<number>`coalesce(extract(epoch from now() - min(${deliveries.createdAt}) filter (where ${deliveries.failedAt} is null)), 0)::float8`
  }).from(deliveries).where(eq(deliveries.channel, channel))
  return { pending: row!.pending, failing: row!.failing, givenUp: row!.givenUp, oldestPendingAgeSeconds: row!.oldest }
}
