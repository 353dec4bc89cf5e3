import { createHash, randomBytes } from 'node:crypto'

/** 256 bits: a token that cannot be guessed, so a fast hash is enough to store it. */
const TOKEN_BYTES = 32

/** A new bearer secret (refresh, reset or verification token), URL-safe, 43 characters. */
export function newSecretToken (): string {
  return randomBytes(TOKEN_BYTES).toString('base64url')
}

/** What the database keeps of a token: never the token itself. */
export function hashOfToken (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}
