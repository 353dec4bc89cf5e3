import { hkdfSync, randomUUID } from 'node:crypto'
import { keysOfKeySet } from '../common/key-sets.ts'
import { readOrCreate } from '../runtime/kept-file.ts'
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import { ConfigError, type JwtSettings } from '../config.ts'

/** The signing algorithms this service accepts, by key type: Ed25519 (the default) and P-256. */
export const ALGORITHMS = ['EdDSA', 'ES256'] as const
export type SigningAlgorithm = typeof ALGORITHMS[number]

/** A public verification key as /.well-known/jwks.json publishes it. */
export interface PublicJwk {
  kty: 'OKP' | 'EC'
  crv: 'Ed25519' | 'P-256'
  kid: string
  alg: SigningAlgorithm
  use: 'sig'
  x: string
  y?: string
}

export interface SigningKey {
  kid: string
  alg: SigningAlgorithm
  privateKey: CryptoKey
  /** What /.well-known/jwks.json publishes: the public members only. */
  publicJwk: PublicJwk
  /**
   * A secret derived from the private key (HKDF), for keyed hashes that must not be
   * computable from what the database holds, such as request fingerprints.
   */
  derivedSecret: Buffer
}

/** The configured keys: the first signs, all verify and are published. */
export interface SigningKeySet {
  signing: SigningKey
  all: SigningKey[]
}

/** A JWK Set that cannot be used: the message names the problem, never a key's private member. */
export class SigningKeyError extends Error {
  override name = 'SigningKeyError'
}

function algorithmOf (jwk: JWK, index: number): SigningAlgorithm {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  throw new SigningKeyError(`key ${index} is not an Ed25519 (OKP) or P-256 (EC) key`)
}

async function signingKeyFrom (jwk: JWK, index: number): Promise<SigningKey> {
  if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new SigningKeyError(`key ${index} has no kid`)
  const alg = algorithmOf(jwk, index)
  if (typeof jwk.d !== 'string') throw new SigningKeyError(`key ${jwk.kid} is not a private key (no "d")`)
  if (jwk.alg !== undefined && jwk.alg !== alg) throw new SigningKeyError(`key ${jwk.kid} says alg ${jwk.alg}, but its curve is for ${alg}`)
  const privateKey = await importJWK({ ...jwk, alg }, alg).catch(() => {
    throw new SigningKeyError(`key ${jwk.kid} is not a valid ${alg} key`)
  }) as CryptoKey
  const publicJwk: PublicJwk = alg === 'EdDSA'
    ? { kty: 'OKP', crv: 'Ed25519', kid: jwk.kid, alg, use: 'sig', x: String(jwk.x) }
    : { kty: 'EC', crv: 'P-256', kid: jwk.kid, alg, use: 'sig', x: String(jwk.x), y: String(jwk.y) }
  const derivedSecret = Buffer.from(hkdfSync('sha256', Buffer.from(jwk.d, 'base64url'), jwk.kid, 'users-service derived secret', 32))
  return { kid: jwk.kid, alg, privateKey, publicJwk, derivedSecret }
}

/** Parses JWT_SIGNING_KEYS: a JWK Set (JSON) of private keys, each with a kid. */
export async function parseSigningKeys (json: string): Promise<SigningKeySet> {
  const keys = keysOfKeySet(json)
  if (keys === 'not JSON') throw new SigningKeyError('is not JSON')
  if (keys === 'no keys') throw new SigningKeyError('must be a JWK Set: {"keys": [ … ]} with at least one key')
  const all = await Promise.all(keys.map((jwk, index) => signingKeyFrom(jwk as JWK, index)))
  const kids = new Set(all.map((key) => key.kid))
  if (kids.size !== all.length) throw new SigningKeyError('two keys share a kid')
  return { signing: all[0]!, all }
}

/** A new private key as a JWK with a fresh kid. */
async function generateSigningJwk (alg: SigningAlgorithm = 'EdDSA'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) })
  return { ...await exportJWK(privateKey), kid: randomUUID(), alg, use: 'sig' }
}

/** A JWK Set with a new key in front of the given one (or alone): the rotation's first step. */
export async function prependNewKey (existing: string | undefined, alg: SigningAlgorithm = 'EdDSA'): Promise<{ keys: JWK[] }> {
  const keys = existing === undefined ? [] : (JSON.parse(existing) as { keys: JWK[] }).keys
  if (existing !== undefined) await parseSigningKeys(existing)
  return { keys: [await generateSigningJwk(alg), ...keys] }
}

/**
 * For development without JWT_SIGNING_KEYS: the key set kept in `file` (created on
 * first use, readable by the owner only), or one that lives as long as the process
 * when `file` is undefined (an in-memory database).
 */
async function developmentSigningKeys (file: string | undefined): Promise<SigningKeySet> {
  if (file === undefined) return parseSigningKeys(JSON.stringify(await prependNewKey(undefined)))
  return parseSigningKeys(await readOrCreate(file, async () => JSON.stringify(await prependNewKey(undefined))))
}

/** The key set the configuration names: JWT_SIGNING_KEYS, else a development set. */
export async function loadSigningKeys ({ signingKeys, developmentKeysFile }: Pick<JwtSettings, 'signingKeys' | 'developmentKeysFile'>): Promise<SigningKeySet> {
  if (signingKeys === undefined) return developmentSigningKeys(developmentKeysFile)
  try {
    return await parseSigningKeys(signingKeys)
  } catch (error) {
    throw error instanceof SigningKeyError ? new ConfigError(`JWT_SIGNING_KEYS ${error.message}`) : error
  }
}
