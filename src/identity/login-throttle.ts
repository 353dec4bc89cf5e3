import { eq, inArray, lt, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../db/connect.ts'
import { loginFailures } from '../db/schema.ts'
import { LoginDelayedError } from '../common/errors.ts'

const FIRST_DELAY_SECONDS = 1
const LONGEST_DELAY_SECONDS = 15 * 60
// Failures this much older than the last one are forgotten: the count is of consecutive
// attempts, and the table must not keep every address a guesser ever tried.
const FORGET_AFTER_SECONDS = 24 * 60 * 60

export interface LoginThrottlePolicy {
  /** Consecutive failures before each further attempt must wait. */
  maxFailures: number
  /** Milliseconds since the epoch: injected so tests need not sleep through a delay. */
  now: () => number
}

function normalized (email: string): string {
  return email.toLowerCase()
}

/**
 * Refuses an attempt while the email's delay runs, whoever asks and whether or not the
 * account exists. Resolves to whether failures are on record (so a success must clear them).
 */
export async function assertLoginAllowed (db: Database, email: string, { now }: LoginThrottlePolicy): Promise<boolean> {
  const [found] = await db.select({ blockedUntil: loginFailures.blockedUntil }).from(loginFailures).where(eq(loginFailures.email, normalized(email)))
  const waitMs = (found?.blockedUntil?.getTime() ?? 0) - now()
  if (waitMs > 0) throw new LoginDelayedError(Math.ceil(waitMs / 1000))
  return found !== undefined
}

/**
 * Counts a failure. One atomic upsert: concurrent failures from many replicas and
 * addresses all count, and the delay is computed from the count they produce.
 */
export async function recordLoginFailure (db: Database, email: string, { maxFailures, now }: LoginThrottlePolicy): Promise<void> {
  const at = new Date(now()).toISOString()
  const forgetBefore = new Date(now() - FORGET_AFTER_SECONDS * 1000).toISOString()
  // Past the limit, each failure doubles the wait: 1 s, 2 s, 4 s … up to 15 min.
  const blockedUntil = (failures: SQL) => sql`case when ${failures} >= ${maxFailures}
    then ${at}::timestamptz + make_interval(secs => least(${LONGEST_DELAY_SECONDS}, ${FIRST_DELAY_SECONDS} * power(2, least(${failures} - ${maxFailures}, 30))))
  end`
  const failuresAfterThisOne = sql`case when ${loginFailures.lastFailedAt} < ${forgetBefore}::timestamptz then 1 else ${loginFailures.failures} + 1 end`
  await db.insert(loginFailures)
    .values({ email: normalized(email), failures: 1, lastFailedAt: sql`${at}::timestamptz`, blockedUntil: blockedUntil(sql`1`) })
    .onConflictDoUpdate({
      target: loginFailures.email,
      set: { failures: failuresAfterThisOne, lastFailedAt: sql`${at}::timestamptz`, blockedUntil: blockedUntil(failuresAfterThisOne) }
    })
}

/** A successful login or a password reset: the email starts with a clean slate. */
export async function clearLoginFailures (db: Database, email: string): Promise<void> {
  await db.delete(loginFailures).where(eq(loginFailures.email, normalized(email)))
}

/** Deletes the counts of emails whose last failure is older than the forgetting age: they count from zero anyway. */
export async function forgetStaleLoginFailures (db: Database, now: number, batch: number): Promise<number> {
  const stale = db.select({ email: loginFailures.email }).from(loginFailures)
    .where(lt(loginFailures.lastFailedAt, new Date(now - FORGET_AFTER_SECONDS * 1000))).limit(batch)
  const deleted = await db.delete(loginFailures).where(inArray(loginFailures.email, stale)).returning({ email: loginFailures.email })
  return deleted.length
}
