/**
 * src/events/outbox.ts with commitWithEvents recording nothing: what users-service writes cost
 * without their outbox (bench/servers/users-service.ts loads it in place of the real module
 * when BENCH_WITHOUT names `events`). Never part of the service.
 */
import type { Database } from '../../src/db/connect.ts'
import type { ChangeContext, Recorded } from '../../src/events/outbox.ts'

export * from '../../src/events/outbox.ts'

export async function commitWithEvents<T> (db: Database, _context: ChangeContext, change: (tx: Database) => Promise<Recorded<T>>): Promise<T> {
  return db.transaction(async (tx) => (await change(tx)).result)
}
