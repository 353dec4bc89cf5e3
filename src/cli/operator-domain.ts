import { NOTHING_REMEMBERED, type Domain } from '../common/domain.ts'
import type { Config } from '../config.ts'
import type { Database } from '../db/connect.ts'
import { passwordHasher } from '../identity/passwords.ts'

/** The domain as a command hands it: the service's own hashing and failed-login delay, and no principal cache to tell. */
export function operatorDomain (db: Database, config: Config): Domain {
  return { db, access: NOTHING_REMEMBERED, passwords: passwordHasher(config.passwordHashing), loginThrottle: { maxFailures: config.loginMaxFailures, now: Date.now } }
}
