import type { Actor } from '../access/actor.ts'
import { assertPrivileged } from '../access/rules.ts'
import type { Domain } from '../common/domain.ts'
import { newestPosition, readEvents, type EventQuery, type StoredEvent } from './outbox.ts'

export interface FeedQuery extends Omit<EventQuery, 'after'> {
  /** Where to read on from, given the newest position (a cursor beyond it was never issued); the start when undefined. */
  after: ((newest: number) => number) | undefined
}

/** A page of the change feed, for admins (and auditors with their role) only. */
export async function readFeed ({ db }: Domain, actor: Actor, query: FeedQuery): Promise<{ events: StoredEvent[], next: number }> {
  assertPrivileged(actor, 'events:read')
  const after = query.after === undefined ? 0 : query.after(await newestPosition(db))
  return readEvents(db, { ...query, after })
}
