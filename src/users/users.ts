import { and, asc, eq, ne, sql, type Placeholder, type SQL } from 'drizzle-orm'
import { uuidv7 } from 'uuidv7'
import { changeContextOf, SYSTEM, type Actor } from '../access/actor.ts'
import { assertMaySetRole, assertMaySetStatus, assertPrivileged, assertSelfOrPrivileged, isPrivileged, isSelf } from '../access/rules.ts'
import type { Database, DatabaseConnection } from '../db/connect.ts'
import { preparedPerDatabase } from '../db/per-database.ts'
import { isUniqueViolation } from '../db/errors.ts'
import { mfaTokens, users } from '../db/schema.ts'
import { EmailTakenError, ExternalIdTakenError, LastActiveAdminError, NotAllowedError, UnknownPrincipalError, UserNotFoundError, VersionMismatchError } from '../common/errors.ts'
import type { Domain } from '../common/domain.ts'
import type { Role, Status } from './roles.ts'
import { commitWithEvents, type Change } from '../events/outbox.ts'
import { endUserSessions } from '../identity/sessions.ts'
import { enqueueDeliveries } from '../events/delivery/queue.ts'
import { mailWait, recordMailSent } from '../events/mail/bounds.ts'
import { emailChangedMail } from '../events/mail/messages.ts'
import { assertLoginAllowed, recordLoginFailure } from '../identity/login-throttle.ts'
import type { Scope } from '../clients/scopes.ts'

/** What the API shows of a user, plus the version its ETag derives from. Never the hash. */
export const publicColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  role: users.role,
  status: users.status,
  email_verified: users.emailVerified,
  last_login_at: users.lastLoginAt,
  created_at: users.createdAt,
  updated_at: users.updatedAt,
  version: users.version
}

export type ColumnValue<Column extends { _: { data: unknown, notNull: boolean } }> = Column['_']['notNull'] extends true ? Column['_']['data'] : Column['_']['data'] | null

export type UserRecord = { [Name in keyof typeof publicColumns]: ColumnValue<typeof publicColumns[Name]> }

/** What an identity provider keeps of a user besides the API's members (SCIM). */
export interface ProvisionedAttributes {
  externalId?: string | null | undefined
  givenName?: string | null | undefined
  familyName?: string | null | undefined
  displayName?: string | null | undefined
}

export interface NewUser extends ProvisionedAttributes {
  email: string
  name: string
  /** Absent for a provisioned user, who sets one by a password reset. */
  password?: string | undefined
  role?: Role | undefined
  status?: Status | undefined
}

export interface UserChanges extends ProvisionedAttributes {
  email?: string | undefined
  name?: string | undefined
  password?: string | undefined
  /** The user's password now: a user changing their own password must send it. */
  current_password?: string | undefined
  role?: Role | undefined
  status?: Status | undefined
}

async function rejectingDuplicates<T> (write: Promise<T>): Promise<T> {
  try {
    return await write
  } catch (error) {
    if (isUniqueViolation(error, 'users_external_id_key')) throw new ExternalIdTakenError()
    if (isUniqueViolation(error)) throw new EmailTakenError()
    throw error
  }
}

/**
 * Which scope lets a machine client make a write: `users:write` through /v1/users, `scim`
 * through SCIM, whose provisioning is the same operation under the scope a provider holds.
 */
export interface Authority {
  scope: Scope
}

const REST_WRITE: Authority = { scope: 'users:write' }

/** An email as the unique index compares it. */
export function normalizeEmail (email: string): string {
  return email.toLowerCase()
}

// Matches the unique index on lower(email), so lookups by email use it. A placeholder
// stands for an email already normalized.
export function hasEmail (email: string | Placeholder): SQL {
  return sql`lower(${users.email}) = ${typeof email === 'string' ? normalizeEmail(email) : email}`
}

/** What events carry of a user: the API's representation, without the version behind the ETag. */
export function userEventData ({ version: _version, ...user }: UserRecord): Omit<UserRecord, 'version'> {
  return user
}

/** Anyone may sign up, with the `user` role and active; only an admin may give another role or status. A client needs its scope. */
export async function createUser ({ db, passwords }: Domain, actor: Actor, input: NewUser, { scope }: Authority = REST_WRITE): Promise<UserRecord> {
  if (actor.kind === 'client') assertPrivileged(actor, scope)
  assertMaySetRole(actor, 'user', input.role, scope)
  assertMaySetStatus(actor, 'active', input.status, scope)
  const passwordHash = input.password === undefined ? null : await passwords.hash(input.password)
  return commitWithEvents(db, changeContextOf(actor), async (tx) => {
    const [created] = await rejectingDuplicates(tx.insert(users).values({
      id: uuidv7(),
      email: normalizeEmail(input.email),
      name: input.name.trim(),
      role: input.role ?? 'user',
      status: input.status ?? 'active',
      passwordHash,
      externalId: input.externalId,
      givenName: input.givenName,
      familyName: input.familyName,
      displayName: input.displayName
    }).returning(publicColumns))
    return { result: created!, changes: [{ type: 'user.created', subject: created!.id, data: userEventData(created!) }] }
  })
}

const userById = preparedPerDatabase((db) => db.select(publicColumns).from(users).where(eq(users.id, sql.placeholder('id'))).prepare('find_user_by_id'))

async function findUserById (db: Database, id: string): Promise<UserRecord | undefined> {
  const [found] = await userById(db).execute({ id })
  return found
}

/** A user, for themself, an admin or a client with users:read. */
export async function getUser ({ db }: Domain, actor: Actor, id: string): Promise<UserRecord> {
  assertSelfOrPrivileged(actor, id, 'users:read')
  const found = await findUserById(db, id)
  if (found === undefined) throw new UserNotFoundError(id)
  return found
}

/** The person acting, as they are now. */
export async function getCurrentUser ({ db }: Domain, actor: Actor): Promise<UserRecord> {
  if (actor.kind !== 'user') throw new NotAllowedError('Only a person has a user of their own.')
  const found = await findUserById(db, actor.id)
  // Deleted since its token was checked (a remembered role, a concurrent request).
  if (found === undefined) throw new UnknownPrincipalError()
  return found
}

export interface Credentials {
  id: string
  role: Role
  status: Status
  /** Null when the user has none yet (provisioned or imported without one). */
  passwordHash: string | null
}

/** What a login attempt checks, by email. */
export async function findCredentials (db: Database, email: string): Promise<Credentials | undefined> {
  const [found] = await db.select({ id: users.id, role: users.role, status: users.status, passwordHash: users.passwordHash })
    .from(users)
    .where(hasEmail(email))
  return found
}

/**
 * Replaces a password hash by another of the same password (a rehash at login), only if it
 * is still the one checked: a password changed meanwhile stays changed. Not a change of the
 * user: no version, no event. Resolves to whether it replaced it.
 */
export async function replacePasswordHash (db: Database, id: string, checked: string, replacement: string): Promise<boolean> {
  const replaced = await db.update(users).set({ passwordHash: replacement }).where(and(eq(users.id, id), eq(users.passwordHash, checked))).returning({ id: users.id })
  return replaced.length > 0
}

/** The user's password hash now. */
export async function currentPasswordHash (db: Database, id: string): Promise<string | null | undefined> {
  const [found] = await db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, id))
  return found?.passwordHash
}

const NEEDS_CURRENT_PASSWORD = 'Changing your own password or email needs your current password in current_password.'

/**
 * A user changing their own password or email proves they know the current password: a
 * stolen access token alone must not be able to take the account over. A wrong guess
 * counts as a failed login of the account, under the same delay, so guessing here is no
 * cheaper than at the token endpoint.
 */
async function assertCurrentPassword ({ db, passwords, loginThrottle }: Domain, userId: string, changes: UserChanges): Promise<string | undefined> {
  const [found] = await db.select({ email: users.email, passwordHash: users.passwordHash }).from(users).where(eq(users.id, userId))
  if (found === undefined) throw new UserNotFoundError(userId)
  const changesEmail = changes.email !== undefined && normalizeEmail(changes.email) !== found.email
  if (changes.password === undefined && !changesEmail) return undefined
  if (changes.current_password === undefined) throw new NotAllowedError(NEEDS_CURRENT_PASSWORD)
  await assertLoginAllowed(db, found.email, loginThrottle)
  const { matches, startedAt } = await passwords.verify(found.passwordHash ?? await passwords.dummy(), changes.current_password)
  if (found.passwordHash == null || !matches) {
    await recordLoginFailure(db, found.email, loginThrottle)
    await passwords.padFailure(startedAt)
    throw new NotAllowedError(NEEDS_CURRENT_PASSWORD)
  }
  return found.passwordHash
}

/**
 * Makes sure an admin with this email exists: creates it when missing, promotes it
 * when it exists as a user, and keeps an existing password. Safe when several
 * replicas run it at once: the unique email index decides who inserts.
 */
export async function ensureAdmin ({ db, access, passwords }: Domain, email: string, password: string): Promise<void> {
  const passwordHash = await findCredentials(db, email) === undefined ? await passwords.hash(password) : undefined
  const promotedIds = await commitWithEvents(db, changeContextOf(SYSTEM), async (tx) => {
    const created = passwordHash === undefined
      ? []
      : await tx.insert(users).values({ id: uuidv7(), email: normalizeEmail(email), name: 'Administrator', role: 'admin', passwordHash })
        .onConflictDoNothing().returning(publicColumns)
    const promoted = await tx.update(users)
      .set({ role: 'admin', version: sql`${users.version} + 1`, updatedAt: sql`now()` })
      .where(and(hasEmail(email), ne(users.role, 'admin')))
      .returning(publicColumns)
    const changes = [
      ...created.map((user): Change => ({ type: 'user.created', subject: user.id, data: userEventData(user) })),
      ...promoted.map((user): Change => ({ type: 'user.updated', subject: user.id, data: { ...userEventData(user), changed: ['role'] } }))
    ]
    return { result: promoted.map((user) => user.id), changes }
  })
  for (const id of promotedIds) access.userChanged(id)
}

/**
 * The versions a write is conditional on (from If-Match); undefined makes it
 * unconditional. The check is made on the locked row, so a concurrent writer can
 * never slip in between the check and the write.
 */
export type ExpectedVersions = number[] | undefined

/** The user as it is before a write, locked until the transaction ends. */
async function lockForWrite (tx: Database, id: string, expected: ExpectedVersions): Promise<UserRecord> {
  const [current] = await tx.select(publicColumns).from(users).where(eq(users.id, id)).for('update')
  if (current === undefined) throw new UserNotFoundError(id)
  if (expected !== undefined && !expected.includes(current.version)) throw new VersionMismatchError()
  return current
}

const TRACKED_MEMBERS = ['email', 'name', 'role', 'email_verified'] as const

/** The events of one write: what changed, a status change, a new password. */
function changesOf (before: UserRecord, after: UserRecord, newPassword: boolean): Change[] {
  const data = userEventData(after)
  const changed = TRACKED_MEMBERS.filter((member) => before[member] !== after[member])
  const found: Change[] = []
  if (changed.length > 0) found.push({ type: 'user.updated', subject: after.id, data: { ...data, changed } })
  if (before.status !== after.status) found.push({ type: after.status === 'disabled' ? 'user.disabled' : 'user.enabled', subject: after.id, data })
  if (newPassword) found.push({ type: 'user.password_changed', subject: after.id, data })
  return found
}

/**
 * Refuses to take the last active admin away (demoted, disabled or deleted). The active
 * admins are locked first, so two requests that each remove a different one of the last
 * two cannot both pass: the second sees what the first did.
 */
async function assertAdminRemains (tx: Database, id: string): Promise<void> {
  const activeAdmins = await tx.select({ id: users.id }).from(users)
    .where(and(eq(users.role, 'admin'), eq(users.status, 'active')))
    // One lock order for every transaction that takes these locks: no deadlocks between them.
    .orderBy(asc(users.id))
    .for('update')
  if (activeAdmins.length === 1 && activeAdmins[0]!.id === id) throw new LastActiveAdminError()
}

function removesAnAdmin (changes: UserChanges): boolean {
  return changes.role === 'user' || changes.status === 'disabled'
}

/**
 * Who may make these changes to user `id`: the user themself or an admin; only an admin
 * sets a role or a status (asking for the current one changes nothing, so anyone may);
 * a user setting their own password or email proves the current password. Resolves to the
 * hash that password was checked against, for the write to check it is still the user's.
 */
async function assertMayUpdate (domain: Domain, actor: Actor, id: string, changes: UserChanges, scope: Scope): Promise<string | undefined> {
  assertSelfOrPrivileged(actor, id, scope)
  // Past the first rule only admins reach other users, and a person acting is active: their own values are known.
  const own = actor.kind === 'user' ? actor.role : 'user'
  assertMaySetRole(actor, own, changes.role, scope)
  assertMaySetStatus(actor, 'active', changes.status, scope)
  // What a provider links a user by is the provider's to set, as a role is an admin's.
  if (changes.externalId !== undefined && !isPrivileged(actor, scope)) throw new NotAllowedError('Only admins and identity providers may set an externalId.')
  return isSelf(actor, id) && (changes.password !== undefined || changes.email !== undefined) ? assertCurrentPassword(domain, id, changes) : undefined
}

/** How a write is made: the new hash, the versions it is conditional on, the session to keep, the hash `current_password` was checked against. */
interface UserWrite {
  passwordHash?: string | undefined
  expected?: ExpectedVersions
  keepSession?: string | undefined
  checkedHash?: string | undefined
  /** The user writes their own record: a change of email must come with a checked password. */
  self?: boolean
}

/**
 * Applies the changes and bumps the version, if the actor may. In the same transaction,
 * a new password ends the user's other sessions (all but the actor's own), and disabling
 * the user ends all of them. `expected`: the versions the write is conditional on (from
 * If-Match); undefined makes it unconditional.
 */
export async function updateUser (domain: Domain, actor: Actor, id: string, changes: UserChanges, expected?: ExpectedVersions, { scope }: Authority = REST_WRITE): Promise<UserRecord> {
  const { db, access, passwords } = domain
  const checkedHash = await assertMayUpdate(domain, actor, id, changes, scope)
  const keepSession = isSelf(actor, id) && actor.kind === 'user' ? actor.sessionId : undefined
  const passwordHash = changes.password === undefined ? undefined : await passwords.hash(changes.password)
  try {
    return await commitWithEvents(db, changeContextOf(actor), (tx) => updateWithin(tx, id, changes, { passwordHash, expected, keepSession, checkedHash, self: isSelf(actor, id) }))
  } finally {
    // Even when the write failed: what this replica remembers may predate a concurrent change.
    access.userChanged(id)
  }
}

async function updateWithin (tx: Database, id: string, changes: UserChanges, { passwordHash, expected, keepSession, checkedHash, self = false }: UserWrite): Promise<{ result: UserRecord, changes: Change[] }> {
  if (removesAnAdmin(changes)) await assertAdminRemains(tx, id)
  const before = await lockForWrite(tx, id, expected)
  // Decided before the lock that no password was needed (the address looked unchanged): the locked row says otherwise.
  if (self && checkedHash === undefined && changes.email !== undefined && normalizeEmail(changes.email) !== before.email) throw new NotAllowedError(NEEDS_CURRENT_PASSWORD)
  // The password proved before the lock must still be the user's: a change or reset in between made it stale.
  if (checkedHash !== undefined) {
    const [current] = await tx.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, id))
    if (current?.passwordHash !== checkedHash) throw new NotAllowedError(NEEDS_CURRENT_PASSWORD)
  }
  const email = changes.email === undefined ? undefined : normalizeEmail(changes.email)
  const [updated] = await rejectingDuplicates(tx.update(users).set({
    email,
    // A new address is not verified, whoever verified the old one.
    emailVerified: email === undefined ? undefined : sql`${users.emailVerified} and ${users.email} = ${email}`,
    name: changes.name?.trim(),
    role: changes.role,
    status: changes.status,
    passwordHash,
    externalId: changes.externalId,
    givenName: changes.givenName,
    familyName: changes.familyName,
    displayName: changes.displayName,
    version: sql`${users.version} + 1`,
    updatedAt: sql`now()`
  }).where(eq(users.id, id)).returning(publicColumns))
  const endedSessions = changes.status === 'disabled'
    ? await endUserSessions(tx, id)
    : passwordHash === undefined ? [] : await endUserSessions(tx, id, keepSession)
  // A login half done (password right, second factor pending) must not finish after either.
  if (changes.status === 'disabled' || passwordHash !== undefined) await tx.delete(mfaTokens).where(eq(mfaTokens.userId, id))
  if (updated!.email !== before.email) await noticeEmailChange(tx, before.email, updated!.email)
  return { result: updated!, changes: [...changesOf(before, updated!, passwordHash !== undefined), ...endedSessions] }
}

/**
 * Whoever changed it, the old address hears of it: the owner of an account a token thief
 * moved learns in time. Bounded like every mail to an address (changing an email back and
 * forth must not flood the old one): past the bound, the change goes through unannounced.
 */
async function noticeEmailChange (tx: Database, oldAddress: string, newAddress: string): Promise<void> {
  if (await mailWait(tx, oldAddress, 'email_changed') !== undefined) return
  await recordMailSent(tx, oldAddress, 'email_changed')
  await enqueueDeliveries(tx, [{ channel: 'mail', destination: oldAddress, payload: emailChangedMail(oldAddress, newAddress) }])
}

/**
 * Gives each of these users a role, all in one transaction or none (a SCIM group's members
 * are its role's users). The same rules as one update each, the last active admin included.
 */
export async function setRoles (domain: Domain, actor: Actor, roles: ReadonlyArray<{ id: string, role: Role }>, { scope }: Authority = REST_WRITE): Promise<void> {
  const { db, access } = domain
  for (const { id, role } of roles) await assertMayUpdate(domain, actor, id, { role }, scope)
  // Row locks in one order, so two such changes cannot deadlock each other.
  const ordered = [...roles].sort((a, b) => a.id.localeCompare(b.id))
  try {
    await commitWithEvents(db, changeContextOf(actor), async (tx) => {
      const changes: Change[] = []
      for (const { id, role } of ordered) changes.push(...(await updateWithin(tx, id, { role }, {})).changes)
      return { result: undefined, changes }
    })
  } finally {
    for (const { id } of roles) access.userChanged(id)
  }
}

/** Deletes a user for good, if the actor is that user or an admin; their tokens stop working at once. */
export async function deleteUser ({ db, access }: Domain, actor: Actor, id: string, expected?: ExpectedVersions, { scope }: Authority = REST_WRITE): Promise<void> {
  assertSelfOrPrivileged(actor, id, scope)
  try {
    await commitWithEvents(db, changeContextOf(actor), async (tx) => {
      await assertAdminRemains(tx, id)
      const before = await lockForWrite(tx, id, expected)
      await tx.delete(users).where(eq(users.id, id))
      return { result: undefined, changes: [{ type: 'user.deleted', subject: id, data: userEventData(before) }] }
    })
  } finally {
    access.userChanged(id)
  }
}

/** Sent by the triggers of migrations 0004 and 0011: 'user:<id>', 'session:<id>' or 'client:<id>'. */
const ACCESS_CHANGED_CHANNEL = 'user_access_changed'

export interface AccessChange {
  kind: 'user' | 'session' | 'client'
  id: string
}

const CHANGE_KINDS: ReadonlySet<string> = new Set(['user', 'session', 'client'])

export interface AccessChangeListener {
  /** A user's role or status changed or the user was deleted; a session ended; a client or its API keys changed. */
  onChange (change: AccessChange): void
  /** Listening (re)started: changes made while not listening are not replayed. */
  onReset (): void
}

/**
 * Tells of every change to who may do what, made by whichever replica or SQL session.
 * Resolves to a function that stops listening.
 */
export function watchAccessChanges (connection: DatabaseConnection, listener: AccessChangeListener): Promise<() => Promise<void>> {
  return connection.listen(ACCESS_CHANGED_CHANNEL, (payload) => {
    const [kind, id] = payload.split(':')
    if (kind !== undefined && CHANGE_KINDS.has(kind) && id !== undefined) listener.onChange({ kind: kind as AccessChange['kind'], id })
  }, () => listener.onReset())
}
