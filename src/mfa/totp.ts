import { Secret, TOTP } from 'otpauth'

// RFC 6238 as every authenticator app reads it by default: SHA-1, 6 digits, 30 s.
const PERIOD_SECONDS = 30
const DIGITS = 6
const ALGORITHM = 'SHA1'
// RFC 4226 §4 asks for at least 128 bits and recommends 160.
const SECRET_BYTES = 20
// One step either side of now: a phone's clock a little off, or a code typed as it turned.
const DRIFT_STEPS = 1

/** A new shared secret, in base32 as authenticator apps take it. */
export function newTotpSecret (): string {
  return new Secret({ size: SECRET_BYTES }).base32
}

/** The Key Uri Format an authenticator app scans: `otpauth://totp/<issuer>:<account>?secret=…&issuer=…`. */
export function otpauthUri (secret: string, issuer: string, account: string): string {
  // '@' may stand unescaped in a URI path, and the apps show the label as written.
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account).replaceAll('%40', '@')}`
  return `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=${ALGORITHM}&digits=${DIGITS}&period=${PERIOD_SECONDS}`
}

/** The time step whose code `code` is, within one step of `nowMs`; undefined for any other code. */
export function stepOfCode (secret: string, typed: string, nowMs: number): number | undefined {
  // A pasted code often carries spaces, or the app's own "123 456" grouping.
  const code = typed.replace(/\s/g, '')
  if (!/^\d{6}$/.test(code)) return undefined
  const totp = new TOTP({ secret: Secret.fromBase32(secret), algorithm: ALGORITHM, digits: DIGITS, period: PERIOD_SECONDS })
  const delta = totp.validate({ token: code, timestamp: nowMs, window: DRIFT_STEPS })
  return delta === null ? undefined : Math.floor(nowMs / 1000 / PERIOD_SECONDS) + delta
}
