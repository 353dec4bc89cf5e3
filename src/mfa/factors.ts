import { and, count, eq, gt, inArray, isNotNull, isNull, lt, ne } from 'drizzle-orm'
import { uuidv7 } from 'uuidv7'
import { changeContextOf, type Actor } from '../access/actor.ts'
import { assertMayRemoveFactor, assertSelfOrPrivileged, assertSelfPerson, assertSelfWithSecondFactor } from '../access/rules.ts'
import type { CredentialsDomain } from '../common/domain.ts'
import { NotAllowedError, UserNotFoundError } from '../common/errors.ts'
import type { Database } from '../db/connect.ts'
import { factors, recoveryCodes, users } from '../db/schema.ts'
import { commitWithEvents, type Change } from '../events/outbox.ts'
import { endUserSessions } from '../identity/sessions.ts'
import { publicColumns, userEventData } from '../users/users.ts'
import { FactorNotFoundError, InvalidCodeError } from './errors.ts'
import type { FactorType } from './factor-kinds.ts'
import { hashOfRecoveryCode, newRecoveryCodes } from './recovery-codes.ts'
import { newTotpSecret, otpauthUri, stepOfCode } from './totp.ts'
import { registrationOptions, verifyRegistration, type PublicKeyCredentialCreationOptionsJSON, type RegistrationResponseJSON, type StoredCredential } from './webauthn.ts'

/** An enrolment not confirmed within this long is gone. */
export const UNCONFIRMED_TTL_MS = 15 * 60_000
const DEFAULT_NAMES: Record<FactorType, string> = { totp: 'Authenticator app', webauthn: 'Security key or passkey' }

export interface FactorRecord {
  id: string
  type: FactorType
  name: string
  created_at: Date
  last_used_at: Date | null
}

const factorColumns = { id: factors.id, type: factors.type, name: factors.name, created_at: factors.createdAt, last_used_at: factors.lastUsedAt }

/** The associated data a TOTP secret is sealed with: it opens for this factor only. */
export function totpSecretContext (factorId: string): string {
  return `factor:${factorId}:totp-secret`
}

function isConfirmed () {
  return isNotNull(factors.confirmedAt)
}

async function userOf (db: Database, userId: string) {
  const [user] = await db.select(publicColumns).from(users).where(eq(users.id, userId))
  if (user === undefined) throw new UserNotFoundError(userId)
  return user
}

async function lockUser (tx: Database, userId: string): Promise<void> {
  await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('update')
}

async function hasConfirmedFactor (db: Database, userId: string): Promise<boolean> {
  const [confirmed] = await db.select({ n: count() }).from(factors).where(and(eq(factors.userId, userId), isConfirmed()))
  return (confirmed?.n ?? 0) > 0
}

/**
 * Enrolling is the user's own act; once they have a factor, adding another needs a login
 * with one (aal2): a stolen password-only token must not add the thief's passkey.
 */
async function assertMayEnrol (db: Database, actor: Actor, userId: string): Promise<void> {
  assertSelfPerson(actor, userId)
  if (await hasConfirmedFactor(db, userId)) assertSelfWithSecondFactor(actor, userId)
}

/** The user's factors that count, and how many recovery codes are left. */
export async function listFactors ({ db }: CredentialsDomain, actor: Actor, userId: string): Promise<{ data: FactorRecord[], recovery_codes_remaining: number }> {
  assertSelfOrPrivileged(actor, userId, 'users:read')
  await userOf(db, userId)
  const data = await db.select(factorColumns).from(factors).where(and(eq(factors.userId, userId), isConfirmed())).orderBy(factors.createdAt, factors.id)
  const [remaining] = await db.select({ n: count() }).from(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
  return { data, recovery_codes_remaining: remaining?.n ?? 0 }
}

/** Ten new recovery codes for the user, in the caller's transaction; the old ones stop working. Returns them in clear, this once. */
async function replaceRecoveryCodes (tx: Database, userId: string): Promise<string[]> {
  const codes = newRecoveryCodes()
  await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId))
  await tx.insert(recoveryCodes).values(codes.map((code) => ({ userId, codeHash: hashOfRecoveryCode(code) })))
  return codes
}

/**
 * What adding a confirmed factor must also do, in its transaction: the event, and, for
 * the user's first factor, recovery codes (handed out now and never again).
 */
async function factorAdded (tx: Database, userId: string, factor: FactorRecord): Promise<{ result: { factor: FactorRecord, recovery_codes?: string[] }, changes: Change[] }> {
  // One change of a user's factors at a time: two first factors at once must not both hand out codes.
  await lockUser(tx, userId)
  const [others] = await tx.select({ n: count() }).from(factors).where(and(eq(factors.userId, userId), isConfirmed(), ne(factors.id, factor.id)))
  const codes = others?.n === 0 ? await replaceRecoveryCodes(tx, userId) : undefined
  const user = await userOf(tx, userId)
  const change: Change = { type: 'user.factor_added', subject: userId, data: { ...userEventData(user), factor: { id: factor.id, type: factor.type, name: factor.name } } }
  return { result: { factor, ...(codes === undefined ? {} : { recovery_codes: codes }) }, changes: [change] }
}

/** Starts a TOTP enrolment: the secret, in clear this once, to put into an authenticator app. A pending one of the user's is replaced. */
export async function enrolTotp (domain: CredentialsDomain, actor: Actor, userId: string, name: string | undefined) {
  const { db, secrets, now } = domain
  await assertMayEnrol(db, actor, userId)
  const user = await userOf(db, userId)
  const id = uuidv7()
  const secret = newTotpSecret()
  await db.transaction(async (tx) => {
    await tx.delete(factors).where(and(eq(factors.userId, userId), eq(factors.type, 'totp'), isNull(factors.confirmedAt)))
    // On the domain's clock, as the 15 minutes to confirm are measured.
    await tx.insert(factors).values({ id, userId, type: 'totp', name: name?.trim() || DEFAULT_NAMES.totp, totpSecret: secrets.seal(secret, totpSecretContext(id)), createdAt: new Date(now()) })
  })
  return { id, type: 'totp' as const, secret, otpauth_uri: otpauthUri(secret, domain.mfa.webauthn.rpName, user.email), confirmed: false as const }
}

/** Confirms a TOTP enrolment with a code from the app: from now on the factor counts, and that code is used up. */
export async function confirmTotp (domain: CredentialsDomain, actor: Actor, userId: string, factorId: string, code: string) {
  const { db, secrets, now } = domain
  await assertMayEnrol(db, actor, userId)
  return commitWithEvents(db, changeContextOf(actor), async (tx) => {
    const [pending] = await tx.select({ secret: factors.totpSecret }).from(factors).where(and(
      eq(factors.id, factorId), eq(factors.userId, userId), eq(factors.type, 'totp'), isNull(factors.confirmedAt),
      gt(factors.createdAt, new Date(now() - UNCONFIRMED_TTL_MS))
    )).for('update')
    if (pending?.secret == null) throw new FactorNotFoundError(factorId)
    const step = stepOfCode(secrets.open(pending.secret, totpSecretContext(factorId)), code, now())
    if (step === undefined) throw new InvalidCodeError('The code is wrong or from another time: enter the one the app shows now.')
    const [factor] = await tx.update(factors).set({ confirmedAt: new Date(now()), totpLastStep: step }).where(eq(factors.id, factorId)).returning(factorColumns)
    return factorAdded(tx, userId, factor!)
  })
}

/** What a WebAuthn factor's row keeps of its credential. */
export const credentialColumns = { credentialId: factors.credentialId, publicKey: factors.publicKey, signCount: factors.signCount, transports: factors.transports }

type CredentialRow = { [Column in keyof typeof credentialColumns]: (typeof credentialColumns)[Column]['_']['data'] | null }

/** A WebAuthn factor's row as the ceremonies take it (its columns are set for every WebAuthn factor). */
export function storedCredential (row: CredentialRow): StoredCredential {
  return { credentialId: row.credentialId!, publicKey: row.publicKey!, signCount: row.signCount ?? 0, transports: row.transports }
}

/** The user's WebAuthn credentials, as the ceremonies need them. */
export async function storedCredentialsOf (db: Database, userId: string): Promise<StoredCredential[]> {
  const rows = await db.select(credentialColumns).from(factors).where(and(eq(factors.userId, userId), eq(factors.type, 'webauthn')))
  return rows.map(storedCredential)
}

/** Options for the browser to create a credential for the user themself. */
export async function webauthnRegistrationOptions (domain: CredentialsDomain, actor: Actor, userId: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  await assertMayEnrol(domain.db, actor, userId)
  const user = await userOf(domain.db, userId)
  return registrationOptions(domain, user, await storedCredentialsOf(domain.db, userId))
}

/** Adds the credential the browser created, once verified, as a factor (a passkey too, when discoverable). */
export async function registerWebauthn (domain: CredentialsDomain, actor: Actor, userId: string, name: string | undefined, response: RegistrationResponseJSON) {
  await assertMayEnrol(domain.db, actor, userId)
  const credential = await verifyRegistration(domain, userId, response)
  return commitWithEvents(domain.db, changeContextOf(actor), async (tx) => {
    const [factor] = await tx.insert(factors).values({
      id: uuidv7(),
      userId,
      type: 'webauthn',
      name: name?.trim() || DEFAULT_NAMES.webauthn,
      confirmedAt: new Date(domain.now()),
      ...credential
    }).onConflictDoNothing({ target: factors.credentialId }).returning(factorColumns)
    if (factor === undefined) throw new InvalidCodeError('This credential is registered already.')
    return factorAdded(tx, userId, factor)
  })
}

/**
 * Removes a factor. The last one takes the recovery codes with it. An admin removing
 * another user's factor (a lost device) ends that user's sessions.
 */
export async function removeFactor ({ db, access }: CredentialsDomain, actor: Actor, userId: string, factorId: string): Promise<void> {
  assertMayRemoveFactor(actor, userId)
  const byOther = !(actor.kind === 'user' && actor.id === userId)
  await commitWithEvents(db, changeContextOf(actor), async (tx) => {
    await lockUser(tx, userId)
    const [removed] = await tx.delete(factors).where(and(eq(factors.id, factorId), eq(factors.userId, userId))).returning({ id: factors.id, type: factors.type, name: factors.name })
    if (removed === undefined) throw new FactorNotFoundError(factorId)
    const [left] = await tx.select({ n: count() }).from(factors).where(and(eq(factors.userId, userId), isConfirmed()))
    if (left?.n === 0) await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId))
    const user = await userOf(tx, userId)
    const ended = byOther ? await endUserSessions(tx, userId) : []
    return { result: undefined, changes: [{ type: 'user.factor_removed', subject: userId, data: { ...userEventData(user), factor: removed } }, ...ended] }
  })
  if (byOther) access.userChanged(userId)
}

/** Ten new recovery codes, for the user themself with a second factor; the old ones stop working. */
export async function regenerateRecoveryCodes ({ db }: CredentialsDomain, actor: Actor, userId: string): Promise<string[]> {
  assertSelfWithSecondFactor(actor, userId)
  return db.transaction(async (tx) => {
    await lockUser(tx, userId)
    if (!await hasConfirmedFactor(tx, userId)) throw new NotAllowedError('Recovery codes come with a second factor: add one first.')
    return replaceRecoveryCodes(tx, userId)
  })
}

/** Deletes TOTP enrolments never confirmed in time. */
export async function deleteUnconfirmedFactors (db: Database, now: number, batch: number): Promise<number> {
  const stale = db.select({ id: factors.id }).from(factors).where(and(isNull(factors.confirmedAt), lt(factors.createdAt, new Date(now - UNCONFIRMED_TTL_MS)))).limit(batch)
  const deleted = await db.delete(factors).where(inArray(factors.id, stale)).returning({ id: factors.id })
  return deleted.length
}
