import { dictionary } from '@zxcvbn-ts/language-common'
import { WeakPasswordError } from '../common/errors.ts'

// NIST SP 800-63B §3.1.1.2: refuse passwords that are commonly used or known to be breached.
// zxcvbn-ts keeps this list (about 50,000 entries, lower case) from real password dumps.
const COMMON_PASSWORDS = new Set(dictionary['passwords-common'])

/** Throws WeakPasswordError for a password people actually guess first. */
export function assertAcceptablePassword (password: string): void {
  if (password.trim() === '') throw new WeakPasswordError('The password is only white space.')
  if (COMMON_PASSWORDS.has(password.toLowerCase())) {
    throw new WeakPasswordError('The password is on a list of common or breached passwords; choose another.')
  }
}
