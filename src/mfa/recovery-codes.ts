import { randomBytes } from 'node:crypto'
import { hashOfToken } from '../identity/secret-tokens.ts'

export const RECOVERY_CODE_COUNT = 10
// 32 symbols, none of 0 O o 1 I l: five bits each, read aloud or typed without doubt.
const ALPHABET = '23456789abcdefghijkmnpqrstuvwxyz'
// 16 symbols, 80 bits: too many to guess, so a fast hash is enough to keep them.
const LENGTH = 16
const GROUP = 4

/** Ten new codes, in groups of four for reading: `7kq3-…`. */
export function newRecoveryCodes (): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const symbols = [...randomBytes(LENGTH)].map((byte) => ALPHABET[byte & 31]).join('')
    return symbols.match(new RegExp(`.{${GROUP}}`, 'g'))!.join('-')
  })
}

/** What is kept of a code, however it is typed: dashes, spaces and case do not count. */
export function hashOfRecoveryCode (code: string): string {
  return hashOfToken(code.replace(/[\s-]/g, '').toLowerCase())
}

/** Whether an answer has the shape of a recovery code rather than a TOTP code. */
export function looksLikeRecoveryCode (code: string): boolean {
  return code.replace(/[\s-]/g, '').length === LENGTH
}
