import { createCipheriv, pbkdf2, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { verify as verifyArgon2 } from '@node-rs/argon2'
import { verify as verifyBcrypt } from '@node-rs/bcrypt'

const pbkdf2Async = promisify(pbkdf2)
const scryptAsync = promisify(scrypt) as (password: string | Buffer, salt: Buffer, keylen: number, options: { N: number, r: number, p: number, maxmem: number }) => Promise<Buffer>

/**
 * Password hashes made elsewhere (Rails, Django, Firebase, Auth0 or Kratos exports), as
 * an import brings them. Each is verified by a well-kept implementation or node:crypto, and
 * bounded: no imported hash may make a login cost more than a few seconds or 256 MiB.
 */
export type ForeignHash =
  | { kind: 'argon2', encoded: string }
  | { kind: 'bcrypt', encoded: string }
  | { kind: 'scrypt', ln: number, r: number, p: number, salt: Buffer, hash: Buffer }
  | { kind: 'pbkdf2', digest: 'sha256' | 'sha512', iterations: number, salt: Buffer, hash: Buffer }
  | { kind: 'firescrypt', ln: number, r: number, p: number, salt: Buffer, hash: Buffer, saltSeparator: Buffer, signerKey: Buffer }

/** Why a hash cannot be taken: the text says what is wrong, never the hash. */
export class HashFormatError extends Error {
  override name = 'HashFormatError'
}

const MAX_MEMORY_BYTES = 256 * 1024 * 1024
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

function base64 (text: string | undefined, what: string): Buffer {
  if (text === undefined || !BASE64.test(text)) throw new HashFormatError(`its ${what} is not base64`)
  return Buffer.from(text, 'base64')
}

/** `a=1,b=2` as numbers, with exactly these names. */
function parameters (text: string | undefined, names: readonly string[]): Record<string, number> {
  const entries = (text ?? '').split(',').map((pair) => pair.split('='))
  const values: Record<string, number> = {}
  for (const [name, value] of entries) {
    if (name === undefined || !names.includes(name) || value === undefined || !/^\d{1,9}$/.test(value)) throw new HashFormatError(`its parameters are not ${names.map((n) => `${n}=…`).join(',')}`)
    values[name] = Number(value)
  }
  for (const name of names) if (!(name in values)) throw new HashFormatError(`it lacks the parameter ${name}`)
  return values
}

function bounded (condition: boolean, detail: string): void {
  if (!condition) throw new HashFormatError(`its parameters are out of bounds: ${detail}`)
}

function scryptBounds (ln: number, r: number, p: number): void {
  bounded(ln >= 1 && ln <= 20, 'scrypt ln must be 1–20')
  bounded(r >= 1 && r <= 32 && p >= 1 && p <= 16, 'scrypt r must be 1–32 and p 1–16')
  bounded(128 * r * 2 ** ln <= MAX_MEMORY_BYTES, 'scrypt may use at most 256 MiB')
}

function parseArgon2 (text: string): ForeignHash {
  const match = /^\$argon2(id|i|d)\$v=(16|19)\$([^$]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(text)
  if (match === null) throw new HashFormatError('it is not an argon2 PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)')
  const { m, t, p } = parameters(match[3], ['m', 't', 'p'])
  bounded(m! <= MAX_MEMORY_BYTES / 1024 && m! >= 8, 'argon2 m must be at most 262144 (256 MiB)')
  bounded(t! >= 1 && t! <= 10 && p! >= 1 && p! <= 16, 'argon2 t must be 1–10 and p 1–16')
  return { kind: 'argon2', encoded: text }
}

function parseBcrypt (text: string): ForeignHash {
  const match = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(text)
  if (match === null) throw new HashFormatError('it is not a bcrypt hash ($2b$<cost>$<53 characters>)')
  bounded(Number(match[1]) >= 4 && Number(match[1]) <= 16, 'bcrypt cost must be 4–16')
  return { kind: 'bcrypt', encoded: text }
}

function parseScrypt (text: string): ForeignHash {
  const [, , params, salt, hash, ...rest] = text.split('$')
  if (rest.length > 0) throw new HashFormatError('it is not $scrypt$ln=…,r=…,p=…$salt$hash')
  const { ln, r, p } = parameters(params, ['ln', 'r', 'p'])
  scryptBounds(ln!, r!, p!)
  return { kind: 'scrypt', ln: ln!, r: r!, p: p!, salt: base64(salt, 'salt'), hash: base64(hash, 'hash') }
}

function parsePbkdf2 (text: string): ForeignHash {
  const [, scheme, params, salt, hash, ...rest] = text.split('$')
  if (rest.length > 0) throw new HashFormatError('it is not $pbkdf2-sha256$i=…,l=…$salt$hash')
  const names = params?.includes('l=') === true ? ['i', 'l'] : ['i']
  const { i } = parameters(params, names)
  bounded(i! >= 1_000 && i! <= 10_000_000, 'PBKDF2 needs 1,000–10,000,000 iterations')
  return { kind: 'pbkdf2', digest: scheme === 'pbkdf2-sha512' ? 'sha512' : 'sha256', iterations: i!, salt: base64(salt, 'salt'), hash: base64(hash, 'hash') }
}

// Django's own format: pbkdf2_sha256$<iterations>$<salt as text>$<base64 hash>.
function parseDjango (text: string): ForeignHash {
  const match = /^pbkdf2_sha256\$(\d{1,9})\$([^$]{1,128})\$([A-Za-z0-9+/]+={0,2})$/.exec(text)
  if (match === null) throw new HashFormatError('it is not Django\'s pbkdf2_sha256$<iterations>$<salt>$<hash>')
  const iterations = Number(match[1])
  bounded(iterations >= 1_000 && iterations <= 10_000_000, 'PBKDF2 needs 1,000–10,000,000 iterations')
  return { kind: 'pbkdf2', digest: 'sha256', iterations, salt: Buffer.from(match[2]!, 'utf8'), hash: Buffer.from(match[3]!, 'base64') }
}

function parseFirescrypt (text: string): ForeignHash {
  const [, , params, salt, hash, separator, signerKey, ...rest] = text.split('$')
  if (rest.length > 0 || signerKey === undefined) throw new HashFormatError('it is not $firescrypt$ln=…,r=…,p=…$salt$hash$saltSeparator$signerKey')
  const { ln, r, p } = parameters(params, ['ln', 'r', 'p'])
  scryptBounds(ln!, r!, p!)
  return { kind: 'firescrypt', ln: ln!, r: r!, p: p!, salt: base64(salt, 'salt'), hash: base64(hash, 'hash'), saltSeparator: base64(separator, 'salt separator'), signerKey: base64(signerKey, 'signer key') }
}

/** A foreign hash, checked for its form and bounds; anything else is a HashFormatError saying why. */
export function parseForeignHash (text: string): ForeignHash {
  if (text.length > 1_000) throw new HashFormatError('it is longer than any supported hash')
  if (text.startsWith('$argon2')) return parseArgon2(text)
  if (text.startsWith('$2')) return parseBcrypt(text)
  if (text.startsWith('$scrypt$')) return parseScrypt(text)
  if (text.startsWith('$pbkdf2-sha256$') || text.startsWith('$pbkdf2-sha512$')) return parsePbkdf2(text)
  if (text.startsWith('pbkdf2_sha256$')) return parseDjango(text)
  if (text.startsWith('$firescrypt$')) return parseFirescrypt(text)
  throw new HashFormatError('its format is not one of bcrypt, argon2, scrypt, PBKDF2 (PHC or Django) or Firebase scrypt')
}

function same (derived: Buffer, expected: Buffer): boolean {
  return derived.length === expected.length && timingSafeEqual(derived, expected)
}

/** Whether the password is the one the hash was made of. Every kind runs off the event loop. */
export async function verifyForeignHash (hash: ForeignHash, password: string): Promise<boolean> {
  switch (hash.kind) {
    case 'argon2': return verifyArgon2(hash.encoded, password)
    case 'bcrypt': return verifyBcrypt(password, hash.encoded)
    case 'pbkdf2': return same(await pbkdf2Async(password, hash.salt, hash.iterations, hash.hash.length, hash.digest), hash.hash)
    case 'scrypt': {
      const N = 2 ** hash.ln
      return same(await scryptAsync(password, hash.salt, hash.hash.length, { N, r: hash.r, p: hash.p, maxmem: 256 * N * hash.r }), hash.hash)
    }
    case 'firescrypt': {
      // Firebase's modified scrypt: the derived key encrypts the project's signer key (AES-256-CTR, zero IV).
      const N = 2 ** hash.ln
      const key = await scryptAsync(password, Buffer.concat([hash.salt, hash.saltSeparator]), 32, { N, r: hash.r, p: hash.p, maxmem: 256 * N * hash.r })
      const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
      return same(Buffer.concat([cipher.update(hash.signerKey), cipher.final()]), hash.hash)
    }
  }
}
