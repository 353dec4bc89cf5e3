import { asc, eq, gt } from 'drizzle-orm'
import type { Database } from '../../db/connect.ts'
import { events, webhookCursors } from '../../db/schema.ts'
import { enqueueDeliveries } from '../delivery/queue.ts'
import { newestPosition, toCloudEvent } from '../outbox.ts'

/** A receiver added to WEBHOOK_URLS gets the events from then on, not the whole retained feed. */
export async function ensureWebhookCursor (db: Database, url: string): Promise<void> {
  await db.insert(webhookCursors).values({ url, position: await newestPosition(db) }).onConflictDoNothing()
}

/**
 * Turns the events a receiver has not been given yet into deliveries (one per event,
 * ordered per user), and moves its cursor past them in the same transaction. The
 * cursor row is locked with SKIP LOCKED: one replica fans out per receiver at a time,
 * the others skip it. Resolves to how many events were turned into deliveries.
 */
export async function fanOutEvents (db: Database, url: string, batch: number): Promise<number> {
  return db.transaction(async (tx) => {
    const [cursor] = await tx.select({ position: webhookCursors.position }).from(webhookCursors)
      .where(eq(webhookCursors.url, url)).for('update', { skipLocked: true })
    if (cursor === undefined) return 0
    const pending = await tx.select().from(events).where(gt(events.position, cursor.position)).orderBy(asc(events.position)).limit(batch)
    await enqueueDeliveries(tx, pending.map((event) => ({ channel: 'webhook', destination: url, orderingKey: event.subject, payload: toCloudEvent(event) })))
    if (pending.length > 0) await tx.update(webhookCursors).set({ position: pending.at(-1)!.position }).where(eq(webhookCursors.url, url))
    return pending.length
  })
}
