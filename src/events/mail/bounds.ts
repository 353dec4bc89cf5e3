import { and, eq, gt, inArray, lt, sql } from 'drizzle-orm'
import type { Database } from '../../db/connect.ts'
import { mailsSent } from '../../db/schema.ts'

// Mails of one kind an address gets in an hour: enough for a person, too few to flood a victim's inbox with.
const MAILS_PER_ADDRESS_AND_HOUR = 3

export type MailPurpose = typeof mailsSent.purpose.enumValues[number]

/**
 * Whether one more mail of this purpose may go to the address: undefined if so, else the
 * seconds until the oldest of the hour's mails leaves it. Requests for one address and
 * purpose take turns (a transaction lock, on every replica), so each counts what the one
 * before it sent: call it in the transaction that records the mail.
 */
export async function mailWait (tx: Database, address: string, purpose: MailPurpose): Promise<number | undefined> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`mail:${purpose}:${address}`}, 0))`)
  const [sent] = await tx.select({
    count: sql<number>`count(*)::int`,
    waitSeconds: sql<number | null>`ceil(extract(epoch from min(${mailsSent.sentAt}) + interval '1 hour' - now()))::int`
  }).from(mailsSent)
    .where(and(eq(mailsSent.address, address), eq(mailsSent.purpose, purpose), gt(mailsSent.sentAt, sql`now() - interval '1 hour'`)))
  return sent!.count < MAILS_PER_ADDRESS_AND_HOUR ? undefined : Math.max(1, sent!.waitSeconds ?? 1)
}

/** Counts a mail against its address's hour, in the transaction that queues it. */
export async function recordMailSent (tx: Database, address: string, purpose: MailPurpose): Promise<void> {
  await tx.insert(mailsSent).values({ address, purpose })
}

/** Deletes what no longer counts: mails sent more than an hour ago. */
export async function forgetOldMailsSent (db: Database, batch: number): Promise<number> {
  const old = db.select({ id: mailsSent.id }).from(mailsSent).where(lt(mailsSent.sentAt, sql`now() - interval '1 hour'`)).limit(batch)
  const deleted = await db.delete(mailsSent).where(inArray(mailsSent.id, old)).returning({ id: mailsSent.id })
  return deleted.length
}
