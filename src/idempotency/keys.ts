import { and, eq, isNull, lt, or, sql } from 'drizzle-orm'
import type { Database } from '../db/connect.ts'
import { idempotencyKeys } from '../db/schema.ts'

export interface KeyIdentity {
  scope: string
  key: string
}

export interface StoredResponse {
  statusCode: number
  body: string
  headers: Record<string, string>
}

export type ClaimOutcome =
  | { claimed: true }
  | { claimed: false, fingerprint: string, response: StoredResponse | undefined }

export interface ClaimOptions {
  fingerprint: string
  ttlMs: number
  /** An in-flight claim older than this was abandoned (its process died) and may be taken over. */
  abandonedAfterMs: number
}

function whereKey ({ scope, key }: KeyIdentity) {
  return and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key))
}

function secondsFromNow (milliseconds: number) {
  return sql`now() + make_interval(secs => ${milliseconds / 1000})`
}

/**
 * Claims a key for a new request, atomically: the primary key decides between
 * racing requests. An expired or abandoned record is taken over; otherwise the
 * existing record is returned for the caller to replay or refuse.
 */
export async function claimKey (db: Database, identity: KeyIdentity, options: ClaimOptions): Promise<ClaimOutcome> {
  const inserted = await db.insert(idempotencyKeys)
    .values({ ...identity, fingerprint: options.fingerprint, expiresAt: secondsFromNow(options.ttlMs) })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key })
  if (inserted.length > 0) return { claimed: true }

  const takenOver = await db.update(idempotencyKeys)
    .set({ fingerprint: options.fingerprint, statusCode: null, responseBody: null, responseHeaders: null, createdAt: sql`now()`, expiresAt: secondsFromNow(options.ttlMs) })
    .where(and(whereKey(identity), or(
      lt(idempotencyKeys.expiresAt, sql`now()`),
      and(isNull(idempotencyKeys.statusCode), lt(idempotencyKeys.createdAt, secondsFromNow(-options.abandonedAfterMs)))
    )))
    .returning({ key: idempotencyKeys.key })
  if (takenOver.length > 0) return { claimed: true }

  const [existing] = await db.select().from(idempotencyKeys).where(whereKey(identity))
  if (existing === undefined) return claimKey(db, identity, options) // deleted in between: try again
  const response = existing.statusCode === null
    ? undefined
    : { statusCode: existing.statusCode, body: existing.responseBody ?? '', headers: existing.responseHeaders ?? {} }
  return { claimed: false, fingerprint: existing.fingerprint, response }
}

export async function completeKey (db: Database, identity: KeyIdentity, response: StoredResponse): Promise<void> {
  await db.update(idempotencyKeys)
    .set({ statusCode: response.statusCode, responseBody: response.body, responseHeaders: response.headers })
    .where(whereKey(identity))
}

/** Forgets a claim whose request failed on our side, so a retry runs afresh. */
export async function releaseKey (db: Database, identity: KeyIdentity): Promise<void> {
  await db.delete(idempotencyKeys).where(whereKey(identity))
}

/** Deletes expired records; returns how many. */
export async function deleteExpiredKeys (db: Database): Promise<number> {
  const deleted = await db.delete(idempotencyKeys).where(lt(idempotencyKeys.expiresAt, sql`now()`)).returning({ key: idempotencyKeys.key })
  return deleted.length
}
