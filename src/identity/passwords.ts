import { availableParallelism } from 'node:os'
import { hash, verify, type Algorithm } from '@node-rs/argon2'
import pLimit from 'p-limit'
import { CapacityExceededError } from '../common/errors.ts'
import { assertAcceptablePassword } from './password-policy.ts'
import { parseForeignHash, verifyForeignHash, type ForeignHash } from './foreign-hashes.ts'

// The library's Algorithm is a const enum, which isolated modules cannot read at run time.
const ARGON2ID_ALGORITHM: Algorithm.Argon2id = 2

// OWASP's argon2id baseline (19 MiB, t=2, p=1). @node-rs/argon2 runs on the libuv
// thread pool, so hashing never blocks the event loop.
const ARGON2ID = { algorithm: ARGON2ID_ALGORITHM, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

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
// sign-ups cannot make logins wait, so it cannot lock users out.
const newPasswords = boundedQueue(64)
const logins = boundedQueue(128)

/** The hash of a new password, once it is known not to be one that people guess. */
export async function hashPassword (password: string): Promise<string> {
  assertAcceptablePassword(password)
  return newPasswords(() => hash(password, ARGON2ID))
}

// What this service writes: the parameters above. Any other hash is replaced at the next successful login.
const CURRENT_PREFIX = `$argon2id$v=19$m=${ARGON2ID.memoryCost},t=${ARGON2ID.timeCost},p=${ARGON2ID.parallelism}$`

export function isCurrentHash (passwordHash: string): boolean {
  return passwordHash.startsWith(CURRENT_PREFIX)
}

/** The argon2id hash of a password made at a migration, kept as it was: no policy applies to a password a user already has. */
export function rehashPassword (password: string): Promise<string> {
  return newPasswords(() => hash(password, ARGON2ID))
}

let dummy: Promise<string> | undefined

/** A hash of nobody's password, to spend on logins that have none to check (unknown emails, foreign hashes). */
export function dummyHash (): Promise<string> {
  dummy ??= hash('not the password of anyone', ARGON2ID).catch((error: unknown) => {
    dummy = undefined
    throw error
  })
  return dummy
}

function foreignOf (passwordHash: string): ForeignHash | undefined {
  try {
    return parseForeignHash(passwordHash)
  } catch {
    // Checked at import; a hash that no longer parses matches no password.
    return undefined
  }
}

/**
 * Whether the password matches the hash, whichever kind it is. A hash of another kind also
 * costs an argon2id verification, run beside it: a wrong password costs at least what it
 * costs against this service's own hashes, so the time does not tell a migrated account.
 */
export function verifyPassword (passwordHash: string, password: string): Promise<boolean> {
  return logins(async () => {
    if (isCurrentHash(passwordHash)) return verify(passwordHash, password)
    const foreign = foreignOf(passwordHash)
    const [matches] = await Promise.all([foreign === undefined ? false : verifyForeignHash(foreign, password), verify(await dummyHash(), password)])
    return matches
  })
}
