import { and, asc, count, eq, gt, type SQL } from 'drizzle-orm'
import type { Actor } from '../access/actor.ts'
import { assertProvisioner } from '../access/rules.ts'
import type { Domain } from '../common/domain.ts'
import { UserNotFoundError, VersionMismatchError } from '../common/errors.ts'
import { isCanonicalUuid } from '../common/ids.ts'
import type { Database } from '../db/connect.ts'
import { users } from '../db/schema.ts'
import { createUser, deleteUser, publicColumns, updateUser, type Authority, type ColumnValue, type ExpectedVersions, type UserChanges } from '../users/users.ts'
import { userFilter } from './filter.ts'
import { applyPatch, assignResource, operationsOf } from './patch.ts'
import { nameOf, type ScimUserState } from './state.ts'
import { ScimRequestError } from './errors.ts'

const SCIM: Authority = { scope: 'scim' }

/** What a SCIM User shows: the API's user and what the provider keeps besides. */
export const scimUserColumns = {
  ...publicColumns,
  externalId: users.externalId,
  givenName: users.givenName,
  familyName: users.familyName,
  displayName: users.displayName
}

export type ScimUserRow = { [Name in keyof typeof scimUserColumns]: ColumnValue<typeof scimUserColumns[Name]> }

async function findRow (db: Database, id: string): Promise<ScimUserRow> {
  const [found] = isCanonicalUuid(id) ? await db.select(scimUserColumns).from(users).where(eq(users.id, id)) : []
  if (found === undefined) throw new UserNotFoundError(id)
  return found
}

function stateOf (row: ScimUserRow): ScimUserState {
  return {
    userName: row.email,
    externalId: row.externalId,
    formatted: row.name,
    givenName: row.givenName,
    familyName: row.familyName,
    displayName: row.displayName,
    active: row.status === 'active',
    password: undefined
  }
}

/** The changes that take a user from `row` to `state`: only what differs. */
function changesFrom (row: ScimUserRow, state: ScimUserState): UserChanges {
  const changes: UserChanges = {}
  const name = nameOf(state, row.name)
  if (state.userName !== row.email) changes.email = state.userName
  if (name !== row.name) changes.name = name
  if (state.externalId !== row.externalId) changes.externalId = state.externalId
  if (state.givenName !== row.givenName) changes.givenName = state.givenName
  if (state.familyName !== row.familyName) changes.familyName = state.familyName
  if (state.displayName !== row.displayName) changes.displayName = state.displayName
  if (state.active !== (row.status === 'active')) changes.status = state.active ? 'active' : 'disabled'
  if (state.password !== undefined) changes.password = state.password
  return changes
}

const EMPTY_STATE: ScimUserState = { userName: '', externalId: null, formatted: null, givenName: null, familyName: null, displayName: null, active: true, password: undefined }

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A resource body's state: userName is required (RFC 7643 §4.1.1). */
function stateOfResource (resource: unknown, from: ScimUserState): ScimUserState {
  if (!isObject(resource)) throw new ScimRequestError('invalidSyntax', 'The body is a User resource: a JSON object.')
  const state = { ...from }
  assignResource(state, resource)
  if (state.userName === '') throw new ScimRequestError('invalidValue', 'userName is required.')
  return state
}

export async function getScimUser ({ db }: Domain, actor: Actor, id: string): Promise<ScimUserRow> {
  assertProvisioner(actor)
  return findRow(db, id)
}

/** POST /Users: a user from a provider, with no password unless it sends one (a reset sets it). */
export async function createScimUser (domain: Domain, actor: Actor, resource: unknown): Promise<ScimUserRow> {
  assertProvisioner(actor)
  const state = stateOfResource(resource, EMPTY_STATE)
  const created = await createUser(domain, actor, {
    email: state.userName,
    name: nameOf(state, state.userName.split('@')[0]!),
    password: state.password,
    status: state.active ? 'active' : 'disabled',
    externalId: state.externalId,
    givenName: state.givenName,
    familyName: state.familyName,
    displayName: state.displayName
  }, SCIM)
  return findRow(domain.db, created.id)
}

/**
 * Writes the state a change computes from the user as read. Without If-Match the write is
 * still conditional on the version read, so a concurrent change is never overwritten
 * with a state computed from before it: the change is computed again, a few times.
 */
async function writeComputed (domain: Domain, actor: Actor, id: string, expected: ExpectedVersions, compute: (state: ScimUserState) => ScimUserState): Promise<ScimUserRow> {
  for (let attempt = 1; ; attempt++) {
    const row = await findRow(domain.db, id)
    if (expected !== undefined && !expected.includes(row.version)) throw new VersionMismatchError()
    const changes = changesFrom(row, compute(stateOf(row)))
    if (Object.keys(changes).length === 0) return row
    try {
      await updateUser(domain, actor, id, changes, expected ?? [row.version], SCIM)
      return await findRow(domain.db, id)
    } catch (error) {
      if (!(error instanceof VersionMismatchError) || expected !== undefined || attempt === 3) throw error
    }
  }
}

/** PUT /Users/{id}: the mutable attributes as sent; name parts and displayName not sent are cleared, externalId and active kept. */
export async function replaceScimUser (domain: Domain, actor: Actor, id: string, resource: unknown, expected: ExpectedVersions): Promise<ScimUserRow> {
  assertProvisioner(actor)
  return writeComputed(domain, actor, id, expected, (current) => stateOfResource(resource, { ...EMPTY_STATE, externalId: current.externalId, active: current.active }))
}

/** PATCH /Users/{id}: the operations applied all or nothing. */
export async function patchScimUser (domain: Domain, actor: Actor, id: string, body: unknown, expected: ExpectedVersions): Promise<ScimUserRow> {
  assertProvisioner(actor)
  const operations = operationsOf(body)
  return writeComputed(domain, actor, id, expected, (current) => applyPatch(current, operations))
}

export async function deleteScimUser (domain: Domain, actor: Actor, id: string, expected: ExpectedVersions): Promise<void> {
  assertProvisioner(actor)
  if (!isCanonicalUuid(id)) throw new UserNotFoundError(id)
  await deleteUser(domain, actor, id, expected, SCIM)
}

export interface ScimUserQuery {
  filter?: string | undefined
  /** 1-based (index pagination). */
  startIndex: number
  count: number
  /** After this id (cursor pagination). */
  after?: string | undefined
  /** Whether to count every matching user: a cursor walk counts on its first page only. */
  countTotal: boolean
}

/** A page of users in id order (creation order: ids are UUID v7) and how many match in all. */
export async function listScimUsers ({ db }: Domain, actor: Actor, query: ScimUserQuery): Promise<{ rows: ScimUserRow[], total: number | undefined, hasMore: boolean }> {
  assertProvisioner(actor)
  const matching: SQL | undefined = query.filter === undefined ? undefined : userFilter(query.filter)
  const countMatching = async () => (await db.select({ total: count() }).from(users).where(matching))[0]?.total ?? 0
  // A filtered first page is counted only when it is full: one that holds every match (the
  // lookup by userName or externalId a provider makes before each step) has counted them.
  const countAfter = matching !== undefined && query.after === undefined && query.startIndex === 1 && query.count > 0
  const [counted, rows] = await Promise.all([
    query.countTotal && !countAfter ? countMatching() : undefined,
    query.count === 0
      ? []
      : db.select(scimUserColumns).from(users)
        .where(and(matching, query.after === undefined ? undefined : gt(users.id, query.after)))
        .orderBy(asc(users.id))
        .limit(query.count + 1)
        .offset(query.after === undefined ? query.startIndex - 1 : 0)
  ])
  const total = !query.countTotal ? undefined : counted ?? (rows.length <= query.count ? rows.length : await countMatching())
  return { rows: rows.slice(0, query.count), total, hasMore: rows.length > query.count }
}
