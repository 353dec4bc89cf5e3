import type { Principal } from '../access/actor.ts'
import type { Domain } from '../common/domain.ts'
import { AccountDisabledError } from '../common/errors.ts'
import { assertLoginAllowed, recordLoginFailure } from './login-throttle.ts'
import { currentPasswordHash, findCredentials, replacePasswordHash } from '../users/users.ts'

/** Whose password was right, and the hash it was checked against (the one stored after a rehash): a session starts only while it is still theirs. */
interface Checked {
  principal: Principal
  passwordHash: string
}

/**
 * The user these credentials belong to, or when their failed check began. An unknown email, or a user without
 * a password, costs the same argon2 verification as a wrong password, so timing does not tell them apart.
 * A disabled user is told so only after giving the right password.
 */
async function verifyCredentials ({ db, passwords }: Pick<Domain, 'db' | 'passwords'>, email: string, password: string): Promise<Checked | { failedAt: number }> {
  const found = await findCredentials(db, email)
  // A user without a password yet costs the same too, and the dummy's own password is no way in.
  const { matches, startedAt } = await passwords.verify(found?.passwordHash ?? await passwords.dummy(), password)
  if (found?.passwordHash == null || !matches) return { failedAt: startedAt }
  if (found.status !== 'active') throw new AccountDisabledError()
  // A hash brought by an import (or of older parameters) becomes this service's own at the first login it lets in.
  if (passwords.isCurrent(found.passwordHash)) return { principal: { id: found.id, role: found.role }, passwordHash: found.passwordHash }
  const replacement = await passwords.rehash(password)
  if (await replacePasswordHash(db, found.id, found.passwordHash, replacement)) return { principal: { id: found.id, role: found.role }, passwordHash: replacement }
  // Another login of the same user rehashed first, or the password changed: the hash now
  // stands only if this password is its password.
  const current = await currentPasswordHash(db, found.id)
  const again = current == null ? undefined : await passwords.verify(current, password)
  return again?.matches === true ? { principal: { id: found.id, role: found.role }, passwordHash: current! } : { failedAt: again?.startedAt ?? startedAt }
}

/**
 * The password step of a login: refused while the email's failed-login delay runs (right
 * password or wrong), a failure counted. A disabled account's right password is refused
 * without counting against the email. The count clears only when the whole login
 * completes, so `hadFailures` tells the caller whether there is one to clear.
 */
export async function logIn (domain: Domain, email: string, password: string): Promise<(Checked & { hadFailures: boolean }) | undefined> {
  const throttle = domain.loginThrottle
  const hadFailures = await assertLoginAllowed(domain.db, email, throttle)
  const checked = await verifyCredentials(domain, email, password)
  if ('failedAt' in checked) {
    await recordLoginFailure(domain.db, email, throttle)
    await domain.passwords.padFailure(checked.failedAt)
    return undefined
  }
  return { ...checked, hadFailures }
}
