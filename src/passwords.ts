import { availableParallelism } from 'node:os'
import { hash, verify, type Algorithm } from '@node-rs/argon2'
import pLimit from 'p-limit'

// The library's Algorithm is a const enum, which isolated modules cannot read at run time.
const ARGON2ID_ALGORITHM: Algorithm.Argon2id = 2

// OWASP's argon2id baseline (19 MiB, t=2, p=1). @node-rs/argon2 runs on the libuv
// thread pool, so hashing never blocks the event loop.
const ARGON2ID = { algorithm: ARGON2ID_ALGORITHM, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

// Off the event loop is not enough: four pool threads hashing at once take every core of a
// small pod, and reads starve for CPU behind a burst of sign-ups (bench/: read p99 ×5).
// At most one hash fewer than there are cores run at once; the rest wait their turn.
const hashing = pLimit(Math.max(1, availableParallelism() - 1))

export function hashPassword (password: string): Promise<string> {
  return hashing(() => hash(password, ARGON2ID))
}

export function verifyPassword (passwordHash: string, password: string): Promise<boolean> {
  return hashing(() => verify(passwordHash, password))
}
