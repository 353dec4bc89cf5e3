import { and, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm'
import { changeContextOf, type Actor } from '../access/actor.ts'
import { assertSelfOrPrivileged } from '../access/rules.ts'
import type { Database } from '../db/connect.ts'
import type { CredentialsDomain, Domain } from '../common/domain.ts'
import { accountTokens, mfaTokens, users } from '../db/schema.ts'
import { enqueueDeliveries } from '../events/delivery/queue.ts'
import { InvalidAccountTokenError, MailLimitReachedError, UserNotFoundError } from '../common/errors.ts'
import { clearLoginFailures } from '../identity/login-throttle.ts'
import { emailVerificationMail, passwordResetMail } from '../events/mail/messages.ts'
import { mailWait, recordMailSent } from '../events/mail/bounds.ts'
import { sealMail } from '../events/mail/sealed.ts'
import { hashOfToken, newSecretToken } from '../identity/secret-tokens.ts'
import { commitWithEvents } from '../events/outbox.ts'
import { retryingConflicts } from '../db/errors.ts'
import { endUserSessions } from '../identity/sessions.ts'
import { publicColumns, userEventData } from '../users/users.ts'

const PASSWORD_RESET_TTL_SECONDS = 30 * 60
const EMAIL_VERIFICATION_TTL_SECONDS = 24 * 60 * 60

type Purpose = typeof accountTokens.purpose.enumValues[number]

function expiresIn (seconds: number) {
  return sql`now() + make_interval(secs => ${seconds})`
}

/**
 * Records a reset token and its mail for an active account with this email, while the
 * address got fewer than three reset mails this hour, and does nothing for any other
 * email. The same statements either way, so the answer and its timing tell nobody whether
 * the account exists, or how many mails it got.
 */
export async function requestPasswordReset ({ db, secrets }: CredentialsDomain, email: string): Promise<void> {
  const address = email.toLowerCase()
  const token = newSecretToken()
  const mail = sealMail(secrets, passwordResetMail(address, token, PASSWORD_RESET_TTL_SECONDS))
  await retryingConflicts(() => db.transaction(async (tx) => {
    const mayMail = await mailWait(tx, address, 'password_reset') === undefined
    await tx.execute(sql`
    with target as (
      -- Locked like every path that writes rows of a user: a deletion racing this waits, or finds the token to cascade to.
      select id, email from users where lower(email) = ${address} and status = 'active' and ${mayMail}::boolean for share
    ), issued as (
      insert into account_tokens (token_hash, user_id, purpose, email, expires_at)
      select ${hashOfToken(token)}, id, 'password_reset', email, ${expiresIn(PASSWORD_RESET_TTL_SECONDS)} from target
      returning user_id
    ), counted as (
      insert into mails_sent (address, purpose) select ${address}, 'password_reset' from issued
    )
    insert into deliveries (channel, destination, payload)
    select 'mail', ${address}, ${JSON.stringify(mail)}::jsonb from issued`)
  }))
}

/** Mails a verification token to the user's current address, for the user themself, an admin or a client with users:write. */
export async function requestEmailVerification ({ db, secrets }: CredentialsDomain, actor: Actor, userId: string): Promise<void> {
  assertSelfOrPrivileged(actor, userId, 'users:write')
  const token = newSecretToken()
  await retryingConflicts(() => db.transaction(async (tx) => {
    // Locked: a deletion racing this waits for it (and cascades to its token), or has removed the user: a 404, not a foreign-key error.
    const [user] = await tx.select({ email: users.email }).from(users).where(eq(users.id, userId)).for('share')
    if (user === undefined) throw new UserNotFoundError(userId)
    const wait = await mailWait(tx, user.email, 'email_verification')
    if (wait !== undefined) throw new MailLimitReachedError(wait)
    await recordMailSent(tx, user.email, 'email_verification')
    await tx.insert(accountTokens).values({
      tokenHash: hashOfToken(token),
      userId,
      purpose: 'email_verification',
      email: user.email,
      expiresAt: expiresIn(EMAIL_VERIFICATION_TTL_SECONDS)
    })
    await enqueueDeliveries(tx, [{ channel: 'mail', destination: user.email, payload: sealMail(secrets, emailVerificationMail(user.email, token, EMAIL_VERIFICATION_TTL_SECONDS)) }])
  }))
}

function isUsable (token: string, purpose: Purpose) {
  return and(eq(accountTokens.tokenHash, hashOfToken(token)), eq(accountTokens.purpose, purpose), isNull(accountTokens.usedAt), gt(accountTokens.expiresAt, sql`now()`))
}

/** The user's row first, the order a deletion takes its locks in (it cascades to the tokens): the two never deadlock. */
async function lockUser (tx: Database, userId: string): Promise<void> {
  await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('no key update')
}

/** Uses the token up; throws unless it was unused, unexpired and of this purpose. */
async function consumeToken (tx: Database, token: string, purpose: Purpose): Promise<{ userId: string, email: string }> {
  const [consumed] = await tx.update(accountTokens).set({ usedAt: sql`now()` })
    .where(isUsable(token, purpose))
    .returning({ userId: accountTokens.userId, email: accountTokens.email })
  if (consumed === undefined) throw new InvalidAccountTokenError()
  return consumed
}

/** Only while the user still has the address the token was mailed to. */
function stillAt (consumed: { userId: string, email: string }) {
  return and(eq(users.id, consumed.userId), eq(users.email, consumed.email))
}

/**
 * Sets a new password with a mailed reset token: every session of the user ends, the
 * user's other reset tokens stop working and failed-login delays are cleared. The
 * token is the proof: whoever holds it may, with or without a session.
 */
export async function confirmPasswordReset ({ db, access, passwords }: Domain, actor: Actor, token: string, newPassword: string): Promise<void> {
  // A cheap look first: a guessed token must not cost an argon2 hash.
  const [usable] = await db.select({ userId: accountTokens.userId }).from(accountTokens).where(isUsable(token, 'password_reset'))
  if (usable === undefined) throw new InvalidAccountTokenError()
  const passwordHash = await passwords.hash(newPassword)
  const userId = await commitWithEvents(db, changeContextOf(actor), async (tx) => {
    await lockUser(tx, usable.userId)
    const consumed = await consumeToken(tx, token, 'password_reset')
    const [updated] = await tx.update(users)
      .set({ passwordHash, version: sql`${users.version} + 1`, updatedAt: sql`now()` })
      .where(stillAt(consumed))
      .returning(publicColumns)
    if (updated === undefined) throw new InvalidAccountTokenError()
    await tx.update(accountTokens).set({ usedAt: sql`now()` })
      .where(and(eq(accountTokens.userId, consumed.userId), eq(accountTokens.purpose, 'password_reset'), isNull(accountTokens.usedAt)))
    const endedSessions = await endUserSessions(tx, consumed.userId)
    // A login half done with the old password must not finish either.
    await tx.delete(mfaTokens).where(eq(mfaTokens.userId, consumed.userId))
    await clearLoginFailures(tx, consumed.email)
    return { result: consumed.userId, changes: [{ type: 'user.password_changed', subject: updated.id, data: userEventData(updated) }, ...endedSessions] }
  })
  access.userChanged(userId)
}

/** Marks the address verified, if the user still has the one the token was mailed to. */
export async function confirmEmailVerification ({ db }: Domain, actor: Actor, token: string): Promise<void> {
  const [usable] = await db.select({ userId: accountTokens.userId }).from(accountTokens).where(isUsable(token, 'email_verification'))
  if (usable === undefined) throw new InvalidAccountTokenError()
  await commitWithEvents(db, changeContextOf(actor), async (tx) => {
    await lockUser(tx, usable.userId)
    const consumed = await consumeToken(tx, token, 'email_verification')
    const [verified] = await tx.update(users)
      .set({ emailVerified: true, version: sql`${users.version} + 1`, updatedAt: sql`now()` })
      .where(stillAt(consumed))
      .returning(publicColumns)
    if (verified === undefined) throw new InvalidAccountTokenError()
    return { result: undefined, changes: [{ type: 'user.email_verified', subject: verified.id, data: userEventData(verified) }] }
  })
}

/** Deletes tokens that can no longer be used (expired or used) a day after the fact. */
export async function deleteSpentAccountTokens (db: Database, batch: number): Promise<number> {
  const spent = db.select({ tokenHash: accountTokens.tokenHash }).from(accountTokens)
    .where(lt(accountTokens.expiresAt, sql`now() - interval '1 day'`)).limit(batch)
  const deleted = await db.delete(accountTokens).where(inArray(accountTokens.tokenHash, spent)).returning({ tokenHash: accountTokens.tokenHash })
  return deleted.length
}
