import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto'
import { keysOfKeySet } from '../common/key-sets.ts'
import { readOrCreate } from '../runtime/kept-file.ts'

const ALGORITHM = 'aes-256-gcm'
const KEY_BYTES = 32
// 96 bits, random per message: NIST SP 800-38D's recommended IV for GCM.
const IV_BYTES = 12
const TAG_BYTES = 16
const VERSION = 'v1'

/**
 * Secrets the service must use again (a TOTP seed, a queued mail's token) sealed with
 * AES-256-GCM under the first key of DATA_ENCRYPTION_KEYS. Each ciphertext names its key,
 * so a rotation is: put a new key first, let the old ones still open what they sealed.
 * `context` is authenticated data: a ciphertext copied to another row or column opens nowhere.
 */
export interface KeyRing {
  seal (plaintext: string, context: string): string
  /** Throws KeyRingError when the ciphertext was not sealed by a key of the ring for this context. */
  open (sealed: string, context: string): string
}

/** A key ring that cannot be used, or a ciphertext it cannot open: the message never holds a key. */
export class KeyRingError extends Error {
  override name = 'KeyRingError'
}

interface RingKey { kid: string, key: Buffer }

function keyOf (entry: unknown, index: number): RingKey {
  const { kid, k } = (entry ?? {}) as { kid?: unknown, k?: unknown }
  if (typeof kid !== 'string' || !/^[\w-]{1,64}$/.test(kid)) throw new KeyRingError(`key ${index} needs a kid of 1 to 64 letters, digits, _ or -`)
  if (typeof k !== 'string' || !/^[\w-]+$/.test(k)) throw new KeyRingError(`key ${kid} needs k, in base64url`)
  const key = Buffer.from(k, 'base64url')
  if (key.length !== KEY_BYTES) throw new KeyRingError(`key ${kid} must be ${KEY_BYTES} bytes, not ${key.length}`)
  return { kid, key }
}

/** Parses DATA_ENCRYPTION_KEYS: `{"keys": [{"kid": …, "k": base64url of 32 bytes}, …]}`. */
export function parseKeyRing (json: string): KeyRing {
  const entries = keysOfKeySet(json)
  if (entries === 'not JSON') throw new KeyRingError('is not JSON')
  if (entries === 'no keys') throw new KeyRingError('must be {"keys": [{"kid": …, "k": …}]} with at least one key')
  const keys = entries.map(keyOf)
  const byKid = new Map(keys.map((entry) => [entry.kid, entry.key]))
  if (byKid.size !== keys.length) throw new KeyRingError('two keys share a kid')
  const current = keys[0]!

  return {
    seal (plaintext, context) {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv(ALGORITHM, current.key, iv, { authTagLength: TAG_BYTES }).setAAD(Buffer.from(context))
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
      return [VERSION, current.kid, iv.toString('base64url'), body.toString('base64url')].join('.')
    },
    open (sealed, context) {
      const [version, kid, iv, body] = sealed.split('.')
      const key = kid === undefined ? undefined : byKid.get(kid)
      if (version !== VERSION || key === undefined || iv === undefined || body === undefined) throw new KeyRingError('sealed with a key this ring does not have')
      const bytes = Buffer.from(body, 'base64url')
      try {
        const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES }).setAAD(Buffer.from(context))
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES))
        return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8')
      } catch {
        throw new KeyRingError('the ciphertext does not open: altered, or sealed for another context')
      }
    }
  }
}

/** A ring with a new key in front of the given one (or alone): a rotation's first step. */
export function prependNewDataKey (existing: string | undefined): { keys: Array<{ kid: string, k: string }> } {
  if (existing !== undefined) parseKeyRing(existing)
  const keys = existing === undefined ? [] : (JSON.parse(existing) as { keys: Array<{ kid: string, k: string }> }).keys
  return { keys: [{ kid: randomUUID(), k: randomBytes(KEY_BYTES).toString('base64url') }, ...keys] }
}

/**
 * For development without DATA_ENCRYPTION_KEYS: the ring kept in `file` beside the
 * embedded database (created on first use, readable by the owner only), or one that
 * lives as long as the process when `file` is undefined.
 */
export async function loadKeyRing ({ keys, developmentKeysFile }: { keys: string | undefined, developmentKeysFile: string | undefined }): Promise<KeyRing> {
  if (keys !== undefined) return parseKeyRing(keys)
  if (developmentKeysFile === undefined) return parseKeyRing(JSON.stringify(prependNewDataKey(undefined)))
  return parseKeyRing(await readOrCreate(developmentKeysFile, () => JSON.stringify(prependNewDataKey(undefined))))
}
