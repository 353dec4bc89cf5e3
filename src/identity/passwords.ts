import { availableParallelism } from 'node:os'
import { hash, verify, type Algorithm } from '@node-rs/argon2'
import pLimit from 'p-limit'
import { CapacityExceededError } from '../common/errors.ts'
import { assertAcceptablePassword } from './password-policy.ts'
import { parseForeignHash, verifyForeignHash, type ForeignHash } from './foreign-hashes.ts'

// The library's Algorithm is a const enum, which isolated modules cannot read at run time.
const ARGON2ID_ALGORITHM: Algorithm.Argon2id = 2

/** The argon2id cost of the hashes this service writes (PASSWORD_HASH_MEMORY_KIB, PASSWORD_HASH_ITERATIONS). */
export interface PasswordHashing {
  memoryKib: number
  iterations: number
}

/** OWASP's argon2id baseline (19 MiB, t=2, p=1): the default, and the least production accepts. */
export const OWASP_BASELINE: PasswordHashing = { memoryKib: 19_456, iterations: 2 }

// Off the event loop is not enough: four pool threads hashing at once take every core of a
// small pod, and reads starve for CPU behind a burst of sign-ups (bench/: read p99 ×5).
// At most one hash fewer than there are cores run at once in each queue below.
const CONCURRENCY = Math.max(1, availableParallelism() - 1)

/**
 * A queue of argon2 work with a bound: past it, the caller is told to come back
 * (503 + Retry-After) rather than wait behind a flood. About 85 hashes a second fit
 * on a core, so a full queue is a wait of about a second.
 */
function boundedQueue (maxWaiting: number) {
  const limit = pLimit(CONCURRENCY)
  return <T>(work: () => Promise<T>): Promise<T> => {
    if (limit.pendingCount >= maxWaiting) return Promise.reject(new CapacityExceededError())
    return limit(work)
  }
}

// New passwords (sign-ups, changes) and logins queue apart: a flood of anonymous
// sign-ups cannot make logins wait, so it cannot lock users out. The queues are the
// process's, whatever the hashing parameters: they share its cores.
const newPasswords = boundedQueue(64)
const logins = boundedQueue(128)

/** What the domain hashes and checks passwords with. */
export interface Passwords {
  /** The hash of a new password, once it is known not to be one that people guess. */
  hash (password: string): Promise<string>
  /** The hash of a password a user already has (a rehash at login): no policy applies to it. */
  rehash (password: string): Promise<string>
  /** Whether the hash is of this service's kind and parameters; any other is replaced at the next successful login. */
  isCurrent (passwordHash: string): boolean
  /** Whether the password matches the hash, whichever kind it is, and when the check began (for padFailure). */
  verify (passwordHash: string, password: string): Promise<{ matches: boolean, startedAt: number }>
  /**
   * Waits, after a failed check whose failure is already counted, as long as the slowest
   * foreign verification lately took: a wrong password costs the same against any kind of
   * hash, and as an unknown email. Counting first keeps parallel guesses from outrunning
   * the failed-login delay during the wait.
   */
  padFailure (startedAt: number): Promise<void>
  /** A hash of nobody's password, to spend on logins that have none to check (unknown emails). */
  dummy (): Promise<string>
}

// A failed check is padded to the slowest foreign verification of the last quarter hour
// (at most 2 s): the time of a wrong password, or of an unknown email, does not tell an
// imported account still on its old, dearer hash from any other.
const PAD_WINDOW_MS = 15 * 60_000
const LONGEST_PAD_MS = 2_000

const PAD_BUCKET_MS = 60_000

/** The slowest foreign verification of each minute of the window: a sliding maximum. */
function failurePadding () {
  const buckets = new Map<number, number>()
  return {
    observe (ms: number): void {
      const minute = Math.floor(Date.now() / PAD_BUCKET_MS)
      buckets.set(minute, Math.max(buckets.get(minute) ?? 0, Math.min(ms, LONGEST_PAD_MS)))
      for (const old of buckets.keys()) if (old <= minute - PAD_WINDOW_MS / PAD_BUCKET_MS) buckets.delete(old)
    },
    async pad (startedAt: number): Promise<void> {
      const oldest = Math.floor(Date.now() / PAD_BUCKET_MS) - PAD_WINDOW_MS / PAD_BUCKET_MS
      let target = 0
      for (const [minute, ms] of buckets) if (minute > oldest) target = Math.max(target, ms)
      const wait = target - (performance.now() - startedAt)
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}

function foreignOf (passwordHash: string): ForeignHash | undefined {
  try {
    return parseForeignHash(passwordHash)
  } catch {
    // Checked at import; a hash that no longer parses matches no password.
    return undefined
  }
}

export function passwordHasher ({ memoryKib, iterations }: PasswordHashing): Passwords {
  const options = { algorithm: ARGON2ID_ALGORITHM, memoryCost: memoryKib, timeCost: iterations, parallelism: 1 } as const
  const currentPrefix = `$argon2id$v=19$m=${memoryKib},t=${iterations},p=1$`
  let dummy: Promise<string> | undefined
  const padding = failurePadding()
  const passwords: Passwords = {
    hash (password) {
      assertAcceptablePassword(password)
      return newPasswords(() => hash(password, options))
    },
    rehash: (password) => newPasswords(() => hash(password, options)),
    isCurrent: (passwordHash) => passwordHash.startsWith(currentPrefix),
    dummy () {
      dummy ??= hash('not the password of anyone', options).catch((error: unknown) => {
        dummy = undefined
        throw error
      })
      return dummy
    },
    // A hash of another kind also costs an argon2id verification, run beside it. The clock
    // starts inside the queue: a wait for a turn is no part of what a hash costs.
    verify: (passwordHash, password) => logins(async () => {
      const startedAt = performance.now()
      if (passwordHash.startsWith(currentPrefix)) return { matches: await verify(passwordHash, password), startedAt }
      const foreign = foreignOf(passwordHash)
      const [matches] = await Promise.all([foreign === undefined ? false : verifyForeignHash(foreign, password), verify(await passwords.dummy(), password)])
      if (foreign !== undefined) padding.observe(performance.now() - startedAt)
      return { matches, startedAt }
    }),
    padFailure: (startedAt) => padding.pad(startedAt)
  }
  return passwords
}
