import { and, count, eq, gt, isNotNull, isNull, lt, inArray, or, sql } from 'drizzle-orm'
import { changeContextOf, type Actor } from '../access/actor.ts'
import type { CredentialsDomain } from '../common/domain.ts'
import { AccountDisabledError, CredentialsChangedError } from '../common/errors.ts'
import type { Database } from '../db/connect.ts'
import { factors, mfaTokens, recoveryCodes, users } from '../db/schema.ts'
import { commitWithEvents, type Change } from '../events/outbox.ts'
import { logIn } from '../identity/credentials.ts'
import { assertLoginAllowed, clearLoginFailures, recordLoginFailure } from '../identity/login-throttle.ts'
import { hashOfToken, newSecretToken } from '../identity/secret-tokens.ts'
import type { ProvedLogin, SessionAuthentication } from '../identity/sessions.ts'
import { publicColumns, userEventData } from '../users/users.ts'
import { MfaRequiredError, SecondFactorRefusedError } from './errors.ts'
import { AMR, type SecondFactorKind } from './factor-kinds.ts'
import { credentialColumns, storedCredential, storedCredentialsOf, totpSecretContext } from './factors.ts'
import { hashOfRecoveryCode, looksLikeRecoveryCode } from './recovery-codes.ts'
import { stepOfCode } from './totp.ts'
import {
  authenticationOptions, consumeChallenge, verifyAuthentication,
  type AuthenticationResponseJSON, type PublicKeyCredentialRequestOptionsJSON
} from './webauthn.ts'

/** A completed login: who, how they proved it (what the session and its tokens will say), and the password hash checked on the way. */
export interface Authenticated extends ProvedLogin {
  authentication: Omit<SessionAuthentication, 'authTime'>
}

/** The second step of a login: a TOTP or recovery code, or a WebAuthn assertion. */
export type SecondStep = { code: string } | { credential: AuthenticationResponseJSON }

/** What a user can finish a login with: their confirmed factors' kinds, and recovery codes while any are left. */
async function secondFactorKinds (db: Database, userId: string): Promise<SecondFactorKind[]> {
  const types = await db.selectDistinct({ type: factors.type }).from(factors).where(and(eq(factors.userId, userId), isNotNull(factors.confirmedAt)))
  if (types.length === 0) return []
  const [codes] = await db.select({ n: count() }).from(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
  return [...types.map(({ type }) => type).sort(), ...(codes!.n > 0 ? ['recovery_code' as const] : [])]
}

/**
 * The password step. A user without factors is logged in (failures cleared); a user
 * with one gets an `mfa_token` instead (MfaRequiredError), and their failure count stays
 * until the login completes. Undefined for a wrong email or password.
 */
export async function logInWithPassword (domain: CredentialsDomain, email: string, password: string): Promise<Authenticated | undefined> {
  const { db, now, mfa } = domain
  const outcome = await logIn(domain, email, password)
  if (outcome === undefined) return undefined
  const kinds = await secondFactorKinds(db, outcome.principal.id)
  if (kinds.length > 0) {
    const mfaToken = newSecretToken()
    await db.transaction(async (tx) => {
      // Under the user's row lock, like a session: a password change, reset, disable or
      // deletion that committed since the password was checked refuses this half-login;
      // one that commits after it finds the token and deletes it.
      const [current] = await tx.select({ passwordHash: users.passwordHash, status: users.status }).from(users)
        .where(eq(users.id, outcome.principal.id)).for('share')
      if (current?.passwordHash !== outcome.passwordHash) throw new CredentialsChangedError()
      if (current.status !== 'active') throw new AccountDisabledError()
      await tx.insert(mfaTokens).values({ tokenHash: hashOfToken(mfaToken), userId: outcome.principal.id, expiresAt: new Date(now() + mfa.tokenTtlSeconds * 1000) })
    })
    throw new MfaRequiredError(mfaToken, kinds)
  }
  if (outcome.hadFailures) await clearLoginFailures(db, email)
  return { principal: outcome.principal, passwordHash: outcome.passwordHash, authentication: { amr: [AMR.password], acr: 'aal1' } }
}

/** The user an `mfa_token` stands for, while it is unused and unexpired. */
async function pendingLogin ({ db, now }: CredentialsDomain, mfaToken: string) {
  const [pending] = await db.select({ id: users.id, role: users.role, status: users.status, email: users.email })
    .from(mfaTokens).innerJoin(users, eq(users.id, mfaTokens.userId))
    .where(and(eq(mfaTokens.tokenHash, hashOfToken(mfaToken)), gt(mfaTokens.expiresAt, new Date(now()))))
  if (pending === undefined) throw new SecondFactorRefusedError('The mfa_token is unknown, used or expired: log in with the password again.')
  return pending
}

/** Options to prove one of the user's WebAuthn credentials, for the holder of an `mfa_token`. */
export async function secondFactorOptions (domain: CredentialsDomain, mfaToken: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const pending = await pendingLogin(domain, mfaToken)
  return authenticationOptions(domain, 'second_factor', pending.id, await storedCredentialsOf(domain.db, pending.id))
}

/** A TOTP code of one of the user's factors, at a time step after the last one it accepted: the step is claimed, once. */
async function proveTotp ({ secrets, now }: CredentialsDomain, tx: Database, userId: string, code: string): Promise<boolean> {
  const totps = await tx.select({ id: factors.id, secret: factors.totpSecret }).from(factors)
    .where(and(eq(factors.userId, userId), eq(factors.type, 'totp'), isNotNull(factors.confirmedAt)))
  for (const factor of totps) {
    const step = stepOfCode(secrets.open(factor.secret!, totpSecretContext(factor.id)), code, now())
    if (step === undefined) continue
    const [claimed] = await tx.update(factors).set({ totpLastStep: step, lastUsedAt: new Date(now()) })
      .where(and(eq(factors.id, factor.id), or(isNull(factors.totpLastStep), lt(factors.totpLastStep, step))))
      .returning({ id: factors.id })
    if (claimed !== undefined) return true
  }
  return false
}

/** An unused recovery code of the user's, used up. */
async function proveRecoveryCode ({ now }: CredentialsDomain, tx: Database, userId: string, code: string): Promise<boolean> {
  const [used] = await tx.update(recoveryCodes).set({ usedAt: new Date(now()) })
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, hashOfRecoveryCode(code)), isNull(recoveryCodes.usedAt)))
    .returning({ userId: recoveryCodes.userId })
  return used !== undefined
}

async function credentialById (db: Database, credentialId: string) {
  const [found] = await db.select({ factorId: factors.id, userId: factors.userId, ...credentialColumns })
    .from(factors).where(and(eq(factors.credentialId, credentialId), eq(factors.type, 'webauthn')))
  return found === undefined ? undefined : { factorId: found.factorId, userId: found.userId, stored: storedCredential(found) }
}

/**
 * A WebAuthn assertion of a credential (of `userId`'s, when given) for `challenge`. The
 * new signature count is written only over a lower one, so of two replicas shown one
 * assertion, one accepts it.
 */
async function proveCredential (domain: CredentialsDomain, tx: Database, response: AuthenticationResponseJSON, challenge: string, userId: string | undefined, requireUserVerification: boolean): Promise<string | undefined> {
  const found = await credentialById(tx, response.id)
  if (found === undefined || (userId !== undefined && found.userId !== userId)) return undefined
  // A discoverable credential names its user: it must be the one it was registered for.
  const handle = response.response.userHandle
  if (handle !== undefined && Buffer.from(handle, 'base64url').toString('hex') !== found.userId.replaceAll('-', '')) return undefined
  const verified = await verifyAuthentication(domain, response, challenge, found.stored, requireUserVerification)
  if (verified === undefined) return undefined
  const [counted] = await tx.update(factors).set({ signCount: verified.signCount, lastUsedAt: new Date(domain.now()) })
    // An authenticator without a counter always says 0; one with a counter must have gone up.
    .where(and(eq(factors.id, found.factorId), verified.signCount === 0 ? eq(factors.signCount, 0) : lt(factors.signCount, verified.signCount)))
    .returning({ id: factors.id })
  return counted === undefined ? undefined : found.userId
}

/** What a second step proved: the method (RFC 8176), or nothing. */
async function proveStep (domain: CredentialsDomain, tx: Database, userId: string, step: SecondStep, challenge: string | undefined): Promise<{ method: string, changes: Change[] } | undefined> {
  if ('credential' in step) {
    if (challenge === undefined || await proveCredential(domain, tx, step.credential, challenge, userId, false) === undefined) return undefined
    return { method: AMR.hardwareKey, changes: [] }
  }
  if (await proveTotp(domain, tx, userId, step.code)) return { method: AMR.otp, changes: [] }
  if (!looksLikeRecoveryCode(step.code) || !await proveRecoveryCode(domain, tx, userId, step.code)) return undefined
  return { method: AMR.otp, changes: [await recoveryCodeUsed(tx, userId)] }
}

/**
 * Finishes a login with its second step, using the `mfa_token` up. The account's second
 * steps take turns (a transaction lock on the user, on every replica): the failed-login
 * delay is checked and a wrong step counted inside the turn, so parallel guesses cannot
 * outrun the delay; of concurrent attempts with one token exactly one completes. A wrong
 * step leaves the token valid and counts as a failed login of the account, under the
 * same delay as the password step.
 */
export async function completeSecondFactor (domain: CredentialsDomain, actor: Actor, mfaToken: string, step: SecondStep): Promise<Authenticated> {
  const { db, now, loginThrottle: throttle } = domain
  const pending = await pendingLogin(domain, mfaToken)
  if (pending.status !== 'active') throw new AccountDisabledError()
  const challenge = 'credential' in step ? await consumeChallenge(domain, step.credential, 'second_factor', pending.id).catch(() => undefined) : undefined
  const tokenHash = hashOfToken(mfaToken)
  const usable = and(eq(mfaTokens.tokenHash, tokenHash), gt(mfaTokens.expiresAt, new Date(now())))
  const proved = await commitWithEvents(db, changeContextOf(actor), async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`second-step:${pending.id}`}, 0))`)
    // The user's row before the token's: a password change or reset deletes the user's
    // mfa_tokens under this lock, so a token still here was issued for the current password.
    const [owner] = await tx.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, pending.id)).for('share')
    const [held] = await tx.select({ userId: mfaTokens.userId }).from(mfaTokens).where(usable)
    if (owner === undefined || held === undefined) throw new SecondFactorRefusedError('The mfa_token is used or expired: log in with the password again.')
    const hadFailures = await assertLoginAllowed(tx, pending.email, throttle)
    const provedStep = await proveStep(domain, tx, pending.id, step, challenge)
    if (provedStep === undefined) {
      await recordLoginFailure(tx, pending.email, throttle)
      return { result: undefined, changes: [] }
    }
    await tx.delete(mfaTokens).where(eq(mfaTokens.tokenHash, tokenHash))
    return { result: { method: provedStep.method, passwordHash: owner.passwordHash ?? undefined, hadFailures }, changes: provedStep.changes }
  })
  if (proved === undefined) throw new SecondFactorRefusedError('The code or credential is wrong, or was used already.')
  // As after a password alone: a count there is to clear (the check above read it) is cleared.
  if (proved.hadFailures) await clearLoginFailures(db, pending.email)
  return { principal: { id: pending.id, role: pending.role }, passwordHash: proved.passwordHash, authentication: { amr: [AMR.password, proved.method, AMR.multiFactor], acr: 'aal2' } }
}

async function recoveryCodeUsed (tx: Database, userId: string): Promise<Change> {
  const [user] = await tx.select(publicColumns).from(users).where(eq(users.id, userId))
  const [left] = await tx.select({ n: count() }).from(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
  return { type: 'user.recovery_code_used', subject: userId, data: { ...userEventData(user!), recovery_codes_remaining: left!.n } }
}

/** Options for a passwordless login with any discoverable credential of this RP, user verification required. */
export function passkeyOptions (domain: CredentialsDomain): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return authenticationOptions(domain, 'passkey', null, [])
}

/**
 * A passwordless login: a user-verified assertion of a registered credential is a whole
 * login (two factors: the device and the PIN or biometric that unlocked it). A failed
 * one of a known credential counts against its account.
 */
export async function logInWithPasskey (domain: CredentialsDomain, response: AuthenticationResponseJSON): Promise<Authenticated> {
  const { db, loginThrottle: throttle } = domain
  const challenge = await consumeChallenge(domain, response, 'passkey', null).catch(() => {
    throw new SecondFactorRefusedError('The challenge is unknown, used or expired: ask for new options.')
  })
  const found = await credentialById(db, response.id)
  const [user] = found === undefined ? [] : await db.select({ id: users.id, role: users.role, status: users.status, email: users.email }).from(users).where(eq(users.id, found.userId))
  if (user === undefined) throw new SecondFactorRefusedError('This credential is not registered here.')
  await assertLoginAllowed(db, user.email, throttle)
  const proved = await db.transaction((tx) => proveCredential(domain, tx, response, challenge, user.id, true))
  if (proved === undefined) {
    await recordLoginFailure(db, user.email, throttle)
    throw new SecondFactorRefusedError('The credential does not verify, or was not verified by its user.')
  }
  if (user.status !== 'active') throw new AccountDisabledError()
  await clearLoginFailures(db, user.email)
  return { principal: { id: user.id, role: user.role }, authentication: { amr: [AMR.hardwareKey, AMR.multiFactor], acr: 'aal2' } }
}

/** Deletes `mfa_token`s past their expiry. */
export async function deleteExpiredMfaTokens (db: Database, now: number, batch: number): Promise<number> {
  const expired = db.select({ tokenHash: mfaTokens.tokenHash }).from(mfaTokens).where(lt(mfaTokens.expiresAt, new Date(now))).limit(batch)
  const deleted = await db.delete(mfaTokens).where(inArray(mfaTokens.tokenHash, expired)).returning({ tokenHash: mfaTokens.tokenHash })
  return deleted.length
}
