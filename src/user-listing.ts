import { and, asc, count, desc, eq, ilike, or, sql, type SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import type { Database } from './db/connect.js'
import { users } from './db/schema.js'
import type { Role, Status } from './roles.js'
import { hasEmail, publicColumns, type UserRecord } from './users.js'

/** A column the listing sorts by, with id as the tie-breaker; migration 0005 indexes each (column, id), 0009 the search by q. */
interface SortKey {
  column: AnyPgColumn
  /** The user's value, as text a cursor can carry and the database reads back unchanged. */
  of (user: UserRecord): string
  /** Whether the text is one `of` could have written: any other could make the query fail. */
  accepts (text: string): boolean
}

// PostgreSQL text cannot hold NUL, and no stored name or email has one.
function isStorableText (text: string): boolean {
  return !text.includes('\0')
}

// What toISOString writes for the years PostgreSQL has (it has no year 0). The column
// has millisecond precision, so the text loses nothing.
function isTimestampText (text: string): boolean {
  const time = new Date(text)
  return /^(?!0000)\d{4}-/.test(text) && !Number.isNaN(time.getTime()) && time.toISOString() === text
}

const SORT_KEYS = {
  created_at: { column: users.createdAt, of: (user) => user.created_at.toISOString(), accepts: isTimestampText },
  email: { column: users.email, of: (user) => user.email, accepts: isStorableText },
  name: { column: users.name, of: (user) => user.name, accepts: isStorableText }
} satisfies Record<string, SortKey>

type SortKeyName = keyof typeof SORT_KEYS

function escapeLikePattern (text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`)
}

/** A sort key, ascending, or descending with a leading `-`; ties go by id in the same direction. */
export type UserSort = SortKeyName | `-${SortKeyName}`

interface SortOrder {
  key: SortKey
  descending: boolean
}

function orderOf (sort: UserSort): SortOrder {
  const descending = sort.startsWith('-')
  return { key: SORT_KEYS[(descending ? sort.slice(1) : sort) as SortKeyName], descending }
}

/** Where a page starts: after the user with this sort key (as text) and id. */
export interface ListingPosition {
  key: string
  id: string
}

export function positionAfter (sort: UserSort, user: UserRecord): ListingPosition {
  return { key: orderOf(sort).key.of(user), id: user.id }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Whether the position could be one positionAfter gave for this sort; the query would fail on some others. */
export function isPositionFor (sort: UserSort, position: ListingPosition): boolean {
  return UUID.test(position.id) && orderOf(sort).key.accepts(position.key)
}

export interface UserFilters {
  email?: string | undefined
  role?: Role | undefined
  /** A case-insensitive substring of the name or the email. */
  q?: string | undefined
  status?: Status | undefined
}

export interface ListUsersQuery extends UserFilters {
  sort: UserSort
  limit: number
  after?: ListingPosition | undefined
  /** Also count every user the filters match, whatever the page. */
  includeTotal?: boolean | undefined
}

export interface UserPage {
  users: UserRecord[]
  hasMore: boolean
  /** Only when the query asked for it. */
  total?: number
}

function matching (filters: UserFilters): SQL | undefined {
  const pattern = filters.q === undefined ? undefined : `%${escapeLikePattern(filters.q)}%`
  return and(
    filters.email === undefined ? undefined : hasEmail(filters.email),
    filters.role === undefined ? undefined : eq(users.role, filters.role),
    filters.status === undefined ? undefined : eq(users.status, filters.status),
    pattern === undefined ? undefined : or(ilike(users.name, pattern), ilike(users.email, pattern))
  )
}

// A row-value comparison on the index's own columns lets a scan of it start right at the
// position, so a deep page costs what the first does. A descending sort compares the
// other way and scans the index backwards.
function following ({ key, descending }: SortOrder, position: ListingPosition): SQL {
  return sql`(${key.column}, ${users.id}) ${sql.raw(descending ? '<' : '>')} (${position.key}, ${position.id})`
}

async function countMatching (db: Database, filters: SQL | undefined): Promise<number> {
  const [counted] = await db.select({ total: count() }).from(users).where(filters)
  return counted!.total
}

/** One keyset page in the query's sort; `hasMore` tells whether a next page exists. */
export async function listUsers (db: Database, query: ListUsersQuery): Promise<UserPage> {
  const order = orderOf(query.sort)
  const direction = order.descending ? desc : asc
  const filters = matching(query)
  const [rows, total] = await Promise.all([
    db.select(publicColumns).from(users)
      .where(and(filters, query.after === undefined ? undefined : following(order, query.after)))
      .orderBy(direction(order.key.column), direction(users.id))
      .limit(query.limit + 1),
    query.includeTotal === true ? countMatching(db, filters) : undefined
  ])
  return { users: rows.slice(0, query.limit), hasMore: rows.length > query.limit, total }
}
