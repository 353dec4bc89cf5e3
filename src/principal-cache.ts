import type { Role } from './users.js'

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
 * deletes a user must make every replica forget it (see plugins/auth.ts).
 */
export function principalCache ({ ttlMs, maxEntries, now = Date.now }: PrincipalCacheOptions): PrincipalCache {
  const entries = new Map<string, { role: Role, expiresAt: number }>()
  let generation = 0

  return {
    get (userId) {
      const entry = entries.get(userId)
      if (entry === undefined) return undefined
      if (entry.expiresAt > now()) return entry.role
      entries.delete(userId)
      return undefined
    },
    set (userId, role, readAt) {
      if (readAt !== generation) return
      entries.delete(userId)
      // Maps iterate in insertion order: the first key is the oldest entry.
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!)
      entries.set(userId, { role, expiresAt: now() + ttlMs })
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
