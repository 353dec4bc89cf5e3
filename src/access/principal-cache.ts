import { LRUCache } from 'lru-cache'
import type { Role } from '../users/roles.ts'

export interface PrincipalCacheOptions {
  /** How long an answer read from the database is trusted without news of a change. */
  ttlMs: number
  maxEntries: number
  now?: () => number
}

/** What a live session grants: whose it is and the role that user has now. */
export interface SessionAccess {
  userId: string
  role: Role
}

export interface PrincipalCache {
  get (sessionId: string): SessionAccess | undefined
  /**
   * Remembers what a session grants, read from the database, unless something was
   * forgotten since `readAt` (a generation from before the read): the read may predate it.
   */
  set (sessionId: string, access: SessionAccess, readAt: number): void
  /** The generation to pass to set() for a read that starts now. */
  generation (): number
  forgetSession (sessionId: string): void
  /** A user's role or status changed, or the user is gone: forget all of their sessions. */
  forgetUser (userId: string): void
  clear (): void
}

/**
 * Live sessions and their users' current roles, so an authenticated request need not
 * read them on every call. Correct only together with change notifications: whoever
 * revokes a session or changes a user must make every replica forget it (see
 * watchAccessChanges in src/users/users.ts).
 */
export function principalCache ({ ttlMs, maxEntries, now }: PrincipalCacheOptions): PrincipalCache {
  const entries = new LRUCache<string, SessionAccess>({
    max: maxEntries,
    ttl: ttlMs,
    // Read the clock on every check rather than once per millisecond, so an injected clock is obeyed at once.
    ttlResolution: 0,
    ...(now === undefined ? {} : { perf: { now } })
  })
  // Bumped by every forget and clear: a read that started before one may be stale.
  let generation = 0

  return {
    get: (sessionId) => entries.get(sessionId),
    set (sessionId, access, readAt) {
      if (readAt === generation) entries.set(sessionId, access)
    },
    generation: () => generation,
    forgetSession (sessionId) {
      generation++
      entries.delete(sessionId)
    },
    forgetUser (userId) {
      generation++
      // Changes to users are rare next to reads: a scan of the entries is cheaper than an index kept per read.
      for (const [sessionId, access] of entries.entries()) if (access.userId === userId) entries.delete(sessionId)
    },
    clear () {
      generation++
      entries.clear()
    }
  }
}
