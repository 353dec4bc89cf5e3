import type { Principal } from './access.js'
import type { Database } from './db/connect.js'
import { AccountDisabledError, NotAllowedError } from './errors.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { findCredentials, findPasswordHash } from './users.js'

let dummyHash: Promise<string> | undefined

/**
 * The user these credentials belong to, or undefined. An unknown email costs the
 * same argon2 verification as a wrong password, so timing does not tell them apart.
 * A disabled user is told so only after giving the right password.
 */
export async function verifyCredentials (db: Database, email: string, password: string): Promise<Principal | undefined> {
  const found = await findCredentials(db, email)
  dummyHash ??= hashPassword('not the password of anyone').catch((error: unknown) => {
    dummyHash = undefined
    throw error
  })
  const matches = await verifyPassword(found?.passwordHash ?? await dummyHash, password)
  if (found === undefined || !matches) return undefined
  if (found.status !== 'active') throw new AccountDisabledError()
  return { id: found.id, role: found.role }
}

/** A user changing their own password proves they know the current one. */
export async function assertCurrentPassword (db: Database, userId: string, currentPassword: string | undefined): Promise<void> {
  const hash = await findPasswordHash(db, userId)
  if (currentPassword === undefined || hash === undefined || !await verifyPassword(hash, currentPassword)) {
    throw new NotAllowedError('Changing your own password needs your current one in current_password.')
  }
}
