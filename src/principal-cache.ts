import { LRUCache } from 'lru-cache'
import type { Role } from './roles.js'

export interface PrincipalCacheOptions {
  /** How long a role read from the database is trusted without news of a change. */
  ttlMs: number
  maxEntries: number
  now?: () => number
}

export interface PrincipalCache {
  get (userId: string): Role | undefined
  /**
   * Remembers a role read from the database, unless something was forgotten since
   * `readAt` (a generation from before the read): the read may predate that change.
   */
  set (userId: string, role: Role, readAt: number): void
  /** The generation to pass to set() for a read that starts now. */
  generation (): number
  forget (userId: string): void
  clear (): void
}

/**
 * Users' current roles, so an authenticated request need not read them on every
 * call. Correct only together with change notifications: whoever changes or
 * deletes a user must make every replica forget it (see watchAccessChanges in src/users.ts).
 */
export function principalCache ({ ttlMs, maxEntries, now }: PrincipalCacheOptions): PrincipalCache {
  const entries = new LRUCache<string, Role>({
    max: maxEntries,
    ttl: ttlMs,
    // Read the clock on every check rather than once per millisecond, so an injected clock is obeyed at once.
    ttlResolution: 0,
    ...(now === undefined ? {} : { perf: { now } })
  })
  // Bumped by every forget and clear: a read that started before one may be stale.
  let generation = 0

  return {
    get: (userId) => entries.get(userId),
    set (userId, role, readAt) {
      if (readAt === generation) entries.set(userId, role)
    },
    generation: () => generation,
    forget (userId) {
      generation++
      entries.delete(userId)
    },
    clear () {
      generation++
      entries.clear()
    }
  }
}
