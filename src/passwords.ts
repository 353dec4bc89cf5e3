import { hash, verify, type Algorithm } from '@node-rs/argon2'

// The library's Algorithm is a const enum, which isolated modules cannot read at run time.
const ARGON2ID_ALGORITHM: Algorithm.Argon2id = 2

// OWASP's argon2id baseline (19 MiB, t=2, p=1). @node-rs/argon2 runs on the libuv
// thread pool, so hashing never blocks the event loop.
const ARGON2ID = { algorithm: ARGON2ID_ALGORITHM, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

export function hashPassword (password: string): Promise<string> {
  return hash(password, ARGON2ID)
}

export function verifyPassword (passwordHash: string, password: string): Promise<boolean> {
  return verify(passwordHash, password)
}
