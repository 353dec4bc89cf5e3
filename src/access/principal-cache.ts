import { LRUCache } from 'lru-cache'
import type { Scope } from '../clients/scopes.ts'
import type { Role } from '../users/roles.ts'

export interface PrincipalCacheOptions<Value> {
  /** How long an answer read from the database is trusted without news of a change. */
  ttlMs: number
  maxEntries: number
  /** Whose entry this is: a change to that owner forgets all of the owner's entries at once. */
  ownerOf: (value: Value) => string
  now?: () => number
}

/** What a live session grants: whose it is and the role that user has now. */
export interface SessionAccess {
  userId: string
  role: Role
}

/** What an active client may do now: the ceiling of its tokens' and keys' scopes. */
export interface ClientAccess {
  clientId: string
  scopes: Scope[]
}

/** What an API key is, as read from the database; it still needs its client to be active. */
export interface ApiKeyAccess {
  keyId: string
  clientId: string
  scopes: Scope[]
  createdAt: Date
  expiresAt: Date | null
}

export interface PrincipalCache<Value> {
  get (key: string): Value | undefined
  /**
   * Remembers what was read from the database, unless something was forgotten since
   * `readAt` (a generation from before the read): the read may predate it.
   */
  set (key: string, value: Value, readAt: number): void
  /** The generation to pass to set() for a read that starts now. */
  generation (): number
  forget (key: string): void
  /** A user or client changed, or is gone: forget every entry it owns. */
  forgetOwner (owner: string): void
  clear (): void
}

/**
 * What credentials grant (live sessions and their users' roles, clients' scopes, API
 * keys), so an authenticated request need not read it on every call. Correct only
 * together with change notifications: whoever revokes a session or changes a user or a
 * client must make every replica forget it (see watchAccessChanges in src/users/users.ts).
 */
export function principalCache<Value extends object> ({ ttlMs, maxEntries, ownerOf, now }: PrincipalCacheOptions<Value>): PrincipalCache<Value> {
  const entries = new LRUCache<string, Value>({
    max: maxEntries,
    ttl: ttlMs,
    // Read the clock on every check rather than once per millisecond, so an injected clock is obeyed at once.
    ttlResolution: 0,
    ...(now === undefined ? {} : { perf: { now } })
  })
  // Bumped by every forget and clear: a read that started before one may be stale.
  let generation = 0

  return {
    get: (key) => entries.get(key),
    set (key, value, readAt) {
      if (readAt === generation) entries.set(key, value)
    },
    generation: () => generation,
    forget (key) {
      generation++
      entries.delete(key)
    },
    forgetOwner (owner) {
      generation++
      // Changes are rare next to reads: a scan of the entries is cheaper than an index kept per read.
      for (const [key, value] of entries.entries()) if (ownerOf(value) === owner) entries.delete(key)
    },
    clear () {
      generation++
      entries.clear()
    }
  }
}
