import { importJWK } from 'jose'
import { InvalidFieldError } from '../common/errors.ts'

/** A client's public keys, as RFC 7517 writes a JWK Set. */
export interface ClientJwks {
  keys: Array<{ kty: string, kid?: string, [member: string]: unknown }>
}

// Members that only a private or symmetric key has (RFC 7518 §6): a client registers public halves only.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/** The JWS algorithms a client key may sign assertions with: Ed25519 under both of its labels (RFC 9864), P-256 as ES256. */
export function algorithmsOf (jwk: Record<string, unknown>): string[] {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return ['EdDSA', 'Ed25519']
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return ['ES256']
  return []
}

async function assertPublicKey (jwk: Record<string, unknown>, pointer: string): Promise<void> {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new InvalidFieldError(pointer, 'must be a JSON Web Key (an object)')
  if (jwk.kty === 'oct') throw new InvalidFieldError(pointer, 'is a symmetric key; register public keys only')
  const secret = PRIVATE_MEMBERS.find((member) => member in jwk)
  if (secret !== undefined) throw new InvalidFieldError(`${pointer}/${secret}`, 'is a private key member; register public keys only')
  const algorithms = algorithmsOf(jwk)
  if (algorithms.length === 0) throw new InvalidFieldError(pointer, 'must be an Ed25519 (OKP) or P-256 (EC) public key')
  if (jwk.alg !== undefined && !algorithms.includes(String(jwk.alg))) throw new InvalidFieldError(`${pointer}/alg`, `must be one of: ${algorithms.join(', ')}`)
  try {
    await importJWK(jwk, algorithms[0])
  } catch {
    throw new InvalidFieldError(pointer, 'is not a valid public key')
  }
}

/** Throws InvalidFieldError unless every key is a public Ed25519 or P-256 key that parses. */
export async function assertPublicJwks (jwks: ClientJwks): Promise<void> {
  if (!Array.isArray(jwks.keys)) throw new InvalidFieldError('/jwks/keys', 'must be an array of keys')
  if (jwks.keys.length === 0) throw new InvalidFieldError('/jwks/keys', 'must hold at least one key')
  for (const [index, jwk] of jwks.keys.entries()) await assertPublicKey(jwk, `/jwks/keys/${index}`)
}
