import { and, asc, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm'
import type { Database } from '../db/connect.js'
import { deliveries } from '../db/schema.js'

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

export interface ClaimedDelivery {
  id: number
  destination: string
  payload: unknown
  /** Including the one just claimed. */
  attempts: number
  createdAt: Date
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

/**
 * Takes up to `limit` due deliveries of a channel for `leaseMs`. SKIP LOCKED lets replicas
 * claim at once without waiting on each other; the lease (not a held transaction) keeps
 * a claimed row from a second replica while it is being sent, and frees it if this
 * replica dies mid-way. A row waits while an older one of its destination and ordering
 * key is still undelivered, so per-key order holds across retries.
 */
export async function claimDeliveries (db: Database, channel: Channel, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const due = db.select({ id: deliveries.id }).from(deliveries)
    .where(and(
      eq(deliveries.channel, channel),
      isNull(deliveries.failedAt),
      lte(deliveries.availableAt, sql`now()`),
      or(isNull(deliveries.lockedUntil), lte(deliveries.lockedUntil, sql`now()`)),
      or(isNull(deliveries.orderingKey), sql`not exists (
        select 1 from ${deliveries} as earlier
        where earlier.channel = ${deliveries.channel} and earlier.destination = ${deliveries.destination}
          and earlier.ordering_key = ${deliveries.orderingKey} and earlier.id < ${deliveries.id} and earlier.failed_at is null
      )`)
    ))
    .orderBy(asc(deliveries.id))
    .limit(limit)
    .for('update', { skipLocked: true })
  return db.update(deliveries)
    .set({ lockedUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})`, attempts: sql`${deliveries.attempts} + 1` })
    .where(inArray(deliveries.id, due))
    .returning({ id: deliveries.id, destination: deliveries.destination, payload: deliveries.payload, attempts: deliveries.attempts, createdAt: deliveries.createdAt })
}

/** Delivered: nothing is kept (a mail holds a token in clear until then). */
export async function completeDelivery (db: Database, id: number): Promise<void> {
  await db.delete(deliveries).where(eq(deliveries.id, id))
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
