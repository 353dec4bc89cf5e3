import { and, asc, eq, gt, ilike, inArray, ne, or, sql, type SQL } from 'drizzle-orm'
import { uuidv7 } from 'uuidv7'
import type { Database, DatabaseConnection } from './db/connect.js'
import { users } from './db/schema.js'
import { EmailTakenError, UserNotFoundError, VersionMismatchError } from './errors.js'
import { hashPassword } from './passwords.js'
import type { Role } from './roles.js'

/** What the API shows of a user, plus the version its ETag derives from. Never the hash. */
const publicColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  role: users.role,
  created_at: users.createdAt,
  updated_at: users.updatedAt,
  version: users.version
}

export type UserRecord = { [Column in keyof typeof publicColumns]: typeof publicColumns[Column]['_']['data'] }

export interface NewUser {
  email: string
  name: string
  password: string
  role?: Role | undefined
}

export interface UserChanges {
  email?: string | undefined
  name?: string | undefined
  password?: string | undefined
  role?: Role | undefined
}

export interface ListUsersQuery {
  limit: number
  /** Only users whose id sorts after this one (the keyset cursor). */
  after?: string | undefined
  email?: string | undefined
  role?: Role | undefined
  q?: string | undefined
}

const UNIQUE_VIOLATION = '23505'

function isUniqueViolation (error: unknown): boolean {
  // drizzle wraps driver errors in DrizzleQueryError, with the driver's error as `cause`.
  for (let current = error; current instanceof Error; current = current.cause) {
    if ((current as { code?: unknown }).code === UNIQUE_VIOLATION) return true
  }
  return false
}

async function rejectingDuplicateEmail<T> (write: Promise<T>): Promise<T> {
  try {
    return await write
  } catch (error) {
    if (isUniqueViolation(error)) throw new EmailTakenError()
    throw error
  }
}

function normalizeEmail (email: string): string {
  return email.toLowerCase()
}

// Matches the unique index on lower(email), so lookups by email use it.
function hasEmail (email: string): SQL {
  return sql`lower(${users.email}) = ${normalizeEmail(email)}`
}

function escapeLikePattern (text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`)
}

export async function createUser (db: Database, input: NewUser): Promise<UserRecord> {
  const passwordHash = await hashPassword(input.password)
  const [created] = await rejectingDuplicateEmail(db.insert(users).values({
    id: uuidv7(),
    email: normalizeEmail(input.email),
    name: input.name.trim(),
    role: input.role ?? 'user',
    passwordHash
  }).returning(publicColumns))
  return created!
}

/**
 * The two lookups every authenticated request makes, built once per database handle and
 * sent as named prepared statements: no SQL building per request, no re-planning per query.
 */
function preparedLookups (db: Database) {
  return {
    byId: db.select(publicColumns).from(users).where(eq(users.id, sql.placeholder('id'))).prepare('find_user_by_id'),
    role: db.select({ role: users.role }).from(users).where(eq(users.id, sql.placeholder('id'))).prepare('find_user_role')
  }
}
const lookups = new WeakMap<Database, ReturnType<typeof preparedLookups>>()

function lookupsFor (db: Database): ReturnType<typeof preparedLookups> {
  let prepared = lookups.get(db)
  if (prepared === undefined) {
    prepared = preparedLookups(db)
    lookups.set(db, prepared)
  }
  return prepared
}

export async function findUserById (db: Database, id: string): Promise<UserRecord | undefined> {
  const [found] = await lookupsFor(db).byId.execute({ id })
  return found
}

export async function getUser (db: Database, id: string): Promise<UserRecord> {
  const found = await findUserById(db, id)
  if (found === undefined) throw new UserNotFoundError(id)
  return found
}

/** The role of a user, or undefined when the user no longer exists: what a token check needs. */
export async function findUserRole (db: Database, id: string): Promise<Role | undefined> {
  const [found] = await lookupsFor(db).role.execute({ id })
  return found?.role
}

/** The id, role and password hash for a login attempt. */
export async function findCredentials (db: Database, email: string): Promise<{ id: string, role: Role, passwordHash: string } | undefined> {
  const [found] = await db.select({ id: users.id, role: users.role, passwordHash: users.passwordHash })
    .from(users)
    .where(hasEmail(email))
  return found
}

/**
 * Makes sure an admin with this email exists: creates it when missing, promotes it
 * when it exists as a user, and keeps an existing password. Safe when several
 * replicas run it at once: the unique email index decides who inserts.
 */
export async function ensureAdmin (db: Database, email: string, password: string): Promise<void> {
  if (await findCredentials(db, email) === undefined) {
    await db.insert(users).values({
      id: uuidv7(),
      email: normalizeEmail(email),
      name: 'Administrator',
      role: 'admin',
      passwordHash: await hashPassword(password)
    }).onConflictDoNothing()
  }
  await db.update(users)
    .set({ role: 'admin', version: sql`${users.version} + 1`, updatedAt: sql`now()` })
    .where(and(hasEmail(email), ne(users.role, 'admin')))
}

/** One page in id order; `hasMore` tells whether a next page exists. */
export async function listUsers (db: Database, query: ListUsersQuery): Promise<{ users: UserRecord[], hasMore: boolean }> {
  const conditions: SQL[] = []
  if (query.after !== undefined) conditions.push(gt(users.id, query.after))
  if (query.email !== undefined) conditions.push(hasEmail(query.email))
  if (query.role !== undefined) conditions.push(eq(users.role, query.role))
  if (query.q !== undefined) {
    const pattern = `%${escapeLikePattern(query.q)}%`
    conditions.push(or(ilike(users.name, pattern), ilike(users.email, pattern))!)
  }
  const rows = await db.select(publicColumns).from(users)
    .where(and(...conditions))
    .orderBy(asc(users.id))
    .limit(query.limit + 1)
  return { users: rows.slice(0, query.limit), hasMore: rows.length > query.limit }
}

/**
 * The versions a write is conditional on (from If-Match); undefined makes it
 * unconditional. The check is part of the write's WHERE clause, so a concurrent
 * writer can never slip in between a check and the write.
 */
export type ExpectedVersions = number[] | undefined

function targetOf (id: string, expected: ExpectedVersions): SQL | undefined {
  return and(eq(users.id, id), expected === undefined ? undefined : inArray(users.version, expected))
}

/** Why a conditional write touched no row. */
async function missReason (db: Database, id: string): Promise<Error> {
  const [found] = await db.select({ id: users.id }).from(users).where(eq(users.id, id))
  return found === undefined ? new UserNotFoundError(id) : new VersionMismatchError()
}

/** Applies the changes and bumps the version. */
export async function updateUser (db: Database, id: string, changes: UserChanges, expected?: ExpectedVersions): Promise<UserRecord> {
  const passwordHash = changes.password === undefined ? undefined : await hashPassword(changes.password)
  const [updated] = await rejectingDuplicateEmail(db.update(users).set({
    email: changes.email === undefined ? undefined : normalizeEmail(changes.email),
    name: changes.name?.trim(),
    role: changes.role,
    passwordHash,
    version: sql`${users.version} + 1`,
    updatedAt: sql`now()`
  }).where(targetOf(id, expected)).returning(publicColumns))
  if (updated === undefined) throw await missReason(db, id)
  return updated
}

export async function deleteUser (db: Database, id: string, expected?: ExpectedVersions): Promise<void> {
  const deleted = await db.delete(users).where(targetOf(id, expected)).returning({ id: users.id })
  if (deleted.length === 0) throw await missReason(db, id)
}

/** Sent by the trigger of migration 0002, with the user's id, on every role change and deletion. */
const ACCESS_CHANGED_CHANNEL = 'user_access_changed'

/**
 * Calls onChange with the id of every user whose role changes or who is deleted, by
 * whichever replica or SQL session; onReset whenever listening (re)starts, since
 * changes made while not listening are not replayed. Resolves to a function that stops.
 */
export function watchAccessChanges (connection: DatabaseConnection, onChange: (userId: string) => void, onReset: () => void): Promise<() => Promise<void>> {
  return connection.listen(ACCESS_CHANGED_CHANNEL, onChange, onReset)
}
