import type { FastifyInstance } from 'fastify'
import { deleteSpentAccountTokens } from '../../src/account/recovery.ts'
import { deleteExpiredAssertions } from '../../src/clients/authentication.ts'
import type { Database } from '../../src/db/connect.ts'
import { startLoop, type Loop } from '../../src/events/delivery/loop.ts'
import { forgetOldMailsSent } from '../../src/events/mail/bounds.ts'
import { deleteEventsBefore } from '../../src/events/outbox.ts'
import { forgetStaleLoginFailures } from '../../src/identity/login-throttle.ts'
import { deleteUnconfirmedFactors } from '../../src/mfa/factors.ts'
import { deleteExpiredMfaTokens } from '../../src/mfa/login.ts'
import { deleteExpiredChallenges } from '../../src/mfa/webauthn.ts'

export interface HousekeepingOptions {
  eventsRetentionDays: number
  intervalMs?: number
  now?: () => number
}

// Small batches, each its own statement: a clean-up never holds locks that writers wait on for long.
const BATCH = 500
const DAY_MS = 24 * 60 * 60 * 1000

type Task = (db: Database) => Promise<number>

/**
 * Deletes what has outlived its use, a batch at a time, on every replica (the deletes
 * are idempotent, so replicas running at once only share the work): events past
 * EVENTS_RETENTION_DAYS, spent mail tokens, forgotten failed-login counts, the jtis of
 * client assertions past their exp, TOTP enrolments never confirmed, expired mfa_tokens and
 * WebAuthn challenges, and the count of mails an address was sent once the hour is over.
 */
export default async function housekeeping (app: FastifyInstance, { eventsRetentionDays, intervalMs = 15 * 60_000, now = Date.now }: HousekeepingOptions): Promise<void> {
  const tasks: Task[] = [
    (db) => deleteUnconfirmedFactors(db, now(), BATCH),
    (db) => deleteExpiredMfaTokens(db, now(), BATCH),
    (db) => deleteExpiredChallenges(db, now(), BATCH),
    (db) => deleteEventsBefore(db, new Date(Date.now() - eventsRetentionDays * DAY_MS), BATCH),
    (db) => deleteSpentAccountTokens(db, BATCH),
    (db) => forgetStaleLoginFailures(db, Date.now(), BATCH),
    (db) => deleteExpiredAssertions(db, BATCH),
    (db) => forgetOldMailsSent(db, BATCH)
  ]
  let loop: Loop | undefined
  app.addHook('onReady', async () => {
    // A full batch means more is due: the next one runs at once, the event loop turning in between.
    loop = startLoop('housekeeping', async () => {
      let more = false
      for (const task of tasks) more = (await task(app.db)) === BATCH || more
      return more
    }, intervalMs, app.log)
  })
  app.addHook('onClose', async () => loop?.stop())
}
