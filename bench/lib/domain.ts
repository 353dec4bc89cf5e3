import { NOTHING_REMEMBERED, type Domain } from '../../src/common/domain.ts'
import type { Database } from '../../src/db/connect.ts'
import { OWASP_BASELINE, passwordHasher } from '../../src/identity/passwords.ts'

/** The domain the bench seeds sessions and clients through, as a service with default settings would. */
export function benchDomain (db: Database): Domain {
  return { db, access: NOTHING_REMEMBERED, passwords: passwordHasher(OWASP_BASELINE), loginThrottle: { maxFailures: 5, now: Date.now } }
}
