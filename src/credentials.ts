import type { Database } from './db/connect.js'
import { hashPassword, verifyPassword } from './passwords.js'
import type { Principal } from './access.js'
import { findCredentials } from './users.js'

let dummyHash: Promise<string> | undefined

/**
 * The user these credentials belong to, or undefined. An unknown email costs the
 * same argon2 verification as a wrong password, so timing does not tell them apart.
 */
export async function verifyCredentials (db: Database, email: string, password: string): Promise<Principal | undefined> {
  const found = await findCredentials(db, email)
  dummyHash ??= hashPassword('not the password of anyone')
  const matches = await verifyPassword(found?.passwordHash ?? await dummyHash, password)
  return found !== undefined && matches ? { id: found.id, role: found.role } : undefined
}
