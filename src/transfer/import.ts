import { inArray, sql } from 'drizzle-orm'
import { uuidv7 } from 'uuidv7'
import { changeContextOf, type Actor } from '../access/actor.ts'
import { assertMaySetRole, assertMaySetStatus, assertPrivileged } from '../access/rules.ts'
import type { Domain } from '../common/domain.ts'
import { DomainError } from '../common/errors.ts'
import type { Database } from '../db/connect.ts'
import { users } from '../db/schema.ts'
import { commitWithEvents, type Change } from '../events/outbox.ts'
import { publicColumns, userEventData } from '../users/users.ts'
import { readImportedUser, type FieldError, type ImportedUser } from './imported-user.ts'

/** The most users one request imports: a bigger file goes in several. */
export const MAX_IMPORTED_USERS = 10_000

// Rows per INSERT: one statement and one transaction per batch, events included.
const BATCH = 500

export type ImportStatus = 'created' | 'skipped' | 'failed'

export interface ImportResult {
  index: number
  email: string | undefined
  status: ImportStatus
  id?: string
  errors?: FieldError[]
}

export interface ImportSummary {
  created: number
  skipped: number
  failed: number
  results: ImportResult[]
}

/** One line of the input: a parsed value, or the line was not JSON. */
export type ImportLine = { value: unknown } | { notJson: true }

/** More users than one request takes. */
export class TooManyImportedUsersError extends DomainError {
  override name = 'TooManyImportedUsersError'
  constructor () {
    super(`One request imports at most ${MAX_IMPORTED_USERS} users; send the rest in another.`)
  }
}

interface Pending { index: number, user: ImportedUser }

function emailOf (value: unknown): string | undefined {
  const email = (value as { email?: unknown } | null)?.email
  return typeof email === 'string' ? email.trim().toLowerCase() : undefined
}

/**
 * Inserts a batch; a user whose email or external_id exists already is skipped (the unique
 * indexes decide, so concurrent imports agree).
 */
async function insertBatch (tx: Database, batch: Pending[]): Promise<{ results: ImportResult[], changes: Change[] }> {
  const created = await tx.insert(users).values(batch.map(({ user }) => ({
    id: uuidv7(),
    email: user.email,
    name: user.name,
    role: user.role,
    status: user.status,
    emailVerified: user.emailVerified,
    externalId: user.externalId,
    passwordHash: user.passwordHash,
    ...(user.createdAt === undefined ? {} : { createdAt: user.createdAt, updatedAt: user.createdAt })
  }))).onConflictDoNothing().returning(publicColumns)
  const changes = created.map((row): Change => ({ type: 'user.created', subject: row.id, data: { ...userEventData(row), imported: true } }))
  const byEmail = new Map(created.map((row) => [row.email, row.id]))
  const skipped = batch.filter(({ user }) => !byEmail.has(user.email))
  const takenEmails = skipped.length === 0 ? new Set<string>() : new Set((await tx.select({ email: users.email }).from(users).where(inArray(sql`lower(${users.email})`, skipped.map(({ user }) => user.email)))).map((row) => row.email))
  const results = batch.map(({ index, user }): ImportResult => {
    const id = byEmail.get(user.email)
    if (id !== undefined) return { index, email: user.email, status: 'created', id }
    const errors = takenEmails.has(user.email) ? [{ pointer: '/email', detail: 'a user with this email exists already' }] : [{ pointer: '/external_id', detail: 'a user with this external_id exists already' }]
    return { index, email: user.email, status: 'skipped', errors }
  })
  return { results, changes }
}

/**
 * Imports users line by line, each judged on its own (`created`, `skipped` or `failed`),
 * for an admin or a client holding users:import. No password is hashed here: a
 * `password_hash` is kept as it came and becomes argon2id at the user's first login.
 */
export async function importUsers ({ db }: Domain, actor: Actor, lines: AsyncIterable<ImportLine>): Promise<ImportSummary> {
  assertPrivileged(actor, 'users:import')
  // One transaction: a request refused half-way (too many users, too large a body) imports
  // nothing. The events are recorded at its end, so the outbox's commit-order lock is held
  // only for that insert and the commit, not while the body arrives.
  // Not repeatable: the lines are a stream, read once.
  return commitWithEvents(db, changeContextOf(actor), async (tx) => {
    const { summary, changes } = await importWithin(tx, actor, lines)
    return { result: summary, changes }
  }, { repeatable: false })
}

async function importWithin (tx: Database, actor: Actor, lines: AsyncIterable<ImportLine>): Promise<{ summary: ImportSummary, changes: Change[] }> {
  const results: ImportResult[] = []
  const changes: Change[] = []
  const flush = async (batch: Pending[]) => {
    const inserted = await insertBatch(tx, batch)
    results.push(...inserted.results)
    changes.push(...inserted.changes)
  }
  const seenEmails = new Map<string, number>()
  const seenExternalIds = new Map<string, number>()
  let batch: Pending[] = []
  let index = 0
  for await (const line of lines) {
    if (index >= MAX_IMPORTED_USERS) throw new TooManyImportedUsersError()
    const current = index++
    if ('notJson' in line) {
      results.push({ index: current, email: undefined, status: 'failed', errors: [{ pointer: '', detail: 'is not JSON' }] })
      continue
    }
    const read = readImportedUser(line.value)
    if ('errors' in read) {
      results.push({ index: current, email: emailOf(line.value), status: 'failed', errors: read.errors })
      continue
    }
    const { user } = read
    // Who may give a role or a status: the same rule as for one user.
    assertMaySetRole(actor, 'user', user.role, 'users:import')
    assertMaySetStatus(actor, 'active', user.status, 'users:import')
    const earlier = seenEmails.get(user.email) ?? (user.externalId === null ? undefined : seenExternalIds.get(user.externalId))
    if (earlier !== undefined) {
      const pointer = seenEmails.has(user.email) ? '/email' : '/external_id'
      results.push({ index: current, email: user.email, status: 'skipped', errors: [{ pointer, detail: `came earlier in this request, at index ${earlier}` }] })
      continue
    }
    seenEmails.set(user.email, current)
    if (user.externalId !== null) seenExternalIds.set(user.externalId, current)
    batch.push({ index: current, user })
    if (batch.length === BATCH) {
      await flush(batch)
      batch = []
    }
  }
  if (batch.length > 0) await flush(batch)
  results.sort((a, b) => a.index - b.index)
  const count = (status: ImportStatus) => results.filter((result) => result.status === status).length
  return { summary: { created: count('created'), skipped: count('skipped'), failed: count('failed'), results }, changes }
}
