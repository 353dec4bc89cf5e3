import { and, eq, isNotNull, isNull, not, or, sql, type SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import { parse, type Filter } from 'scim2-parse-filter'
import { isCanonicalUuid } from '../common/ids.ts'
import { users } from '../db/schema.ts'
import { escapeLikePattern } from '../users/listing.ts'
import { ScimRequestError } from './errors.ts'
import { canonicalPath } from './names.ts'

// Long or deep filters are refused before they cost anything: the parser recurses, and
// providers send one or two comparisons.
const MAX_FILTER_LENGTH = 2_000
const MAX_DEPTH = 16

type Comparison = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le'
type Value = boolean | null | number | string

/** How one filterable attribute reads in SQL. */
interface FilterAttribute {
  compare (op: Comparison, value: Value, path: string): SQL
  present (): SQL
}

function invalid (detail: string): ScimRequestError {
  return new ScimRequestError('invalidFilter', detail)
}

function textOf (value: Value, path: string): string {
  if (typeof value !== 'string') throw invalid(`${path} compares with a string.`)
  // PostgreSQL text cannot hold NUL: no stored value has one, and the query would fail.
  if (value.includes('\0')) throw invalid(`${path} compares with text without NUL characters.`)
  return value
}

const ORDERING: Record<'gt' | 'ge' | 'lt' | 'le', string> = { gt: '>', ge: '>=', lt: '<', le: '<=' }

/**
 * A string attribute; `fold` is how both sides are compared: lower-cased for SCIM's
 * caseExact=false attributes. `co`/`sw`/`ew` are (I)LIKE, which the trigram indexes serve.
 */
function stringAttribute (column: SQL | AnyPgColumn, caseExact: boolean, equal?: (value: string) => SQL): FilterAttribute {
  const folded = caseExact ? sql`${column}` : sql`lower(${column})`
  const fold = (value: string) => caseExact ? value : value.toLowerCase()
  const like = (pattern: string) => caseExact ? sql`${column} like ${pattern}` : sql`${column} ilike ${pattern}`
  return {
    compare (op, value, path) {
      if (value === null && (op === 'eq' || op === 'ne')) return op === 'eq' ? isNull(column) : isNotNull(column)
      const text = textOf(value, path)
      const escaped = escapeLikePattern(text)
      switch (op) {
        case 'eq': return equal?.(text) ?? sql`${folded} = ${fold(text)}`
        case 'ne': return sql`(${column} is null or ${folded} <> ${fold(text)})`
        case 'co': return like(`%${escaped}%`)
        case 'sw': return like(`${escaped}%`)
        case 'ew': return like(`%${escaped}`)
        default: return sql`${folded} ${sql.raw(ORDERING[op])} ${fold(text)}`
      }
    },
    present: () => sql`(${column} is not null and ${column} <> '')`
  }
}

const email = stringAttribute(users.email, false, (value) => sql`lower(${users.email}) = ${value.toLowerCase()}`)

const id: FilterAttribute = {
  compare (op, value, path) {
    const text = textOf(value, path)
    // An id that is no UUID names no user (and must never reach a uuid comparison, which would fail).
    if (op === 'eq') return isCanonicalUuid(text.toLowerCase()) ? eq(users.id, text.toLowerCase()) : sql`false`
    if (op === 'ne') return isCanonicalUuid(text.toLowerCase()) ? sql`${users.id} <> ${text.toLowerCase()}` : sql`true`
    return stringAttribute(sql`${users.id}::text`, false).compare(op, value, path)
  },
  present: () => sql`true`
}

function booleanOf (value: Value, path: string): boolean {
  if (typeof value === 'boolean') return value
  // Entra ID sends booleans as strings.
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true'
  throw invalid(`${path} compares with true or false.`)
}

const active: FilterAttribute = {
  compare (op, value, path) {
    if (op !== 'eq' && op !== 'ne') throw invalid(`${path} takes eq or ne.`)
    const wanted = booleanOf(value, path) === (op === 'eq')
    return eq(users.status, wanted ? 'active' : 'disabled')
  },
  present: () => sql`true`
}

function timestampAttribute (column: AnyPgColumn): FilterAttribute {
  return {
    compare (op, value, path) {
      const parsed = new Date(textOf(value, path))
      if (Number.isNaN(parsed.getTime())) throw invalid(`${path} compares with a date-time.`)
      // As text with a cast: both drivers take it the same way.
      const time = sql`${parsed.toISOString()}::timestamptz`
      switch (op) {
        case 'eq': return sql`${column} = ${time}`
        case 'ne': return sql`${column} <> ${time}`
        case 'gt': case 'ge': case 'lt': case 'le': return sql`${column} ${sql.raw(ORDERING[op])} ${time}`
        default: throw invalid(`${path} is a date-time: ${op} does not apply.`)
      }
    },
    present: () => sql`true`
  }
}

/** A comparison of two strings, case-insensitively, as SCIM compares caseExact=false strings. */
function holds (op: Comparison, actual: string, value: Value, path: string): boolean {
  const text = textOf(value, path).toLowerCase()
  const own = actual.toLowerCase()
  return { eq: own === text, ne: own !== text, co: own.includes(text), sw: own.startsWith(text), ew: own.endsWith(text), gt: own > text, ge: own >= text, lt: own < text, le: own <= text }[op]
}

/** An attribute with one value for every user (an email's `type` is `work`): decided here, not in SQL. */
function constantAttribute (constant: string): FilterAttribute {
  return {
    compare: (op, value, path) => holds(op, constant, value, path) ? sql`true` : sql`false`,
    present: () => sql`true`
  }
}

const primary: FilterAttribute = {
  compare (op, value, path) {
    if (op !== 'eq' && op !== 'ne') throw invalid(`${path} takes eq or ne.`)
    return booleanOf(value, path) === (op === 'eq') ? sql`true` : sql`false`
  },
  present: () => sql`true`
}

/** What an email's own sub-attributes are: one address, the user's, of type work and primary. */
const EMAIL_SUB_ATTRIBUTES: Record<string, FilterAttribute> = { value: email, type: constantAttribute('work'), primary }

const USER_ATTRIBUTES: Record<string, FilterAttribute> = {
  id,
  username: email,
  externalid: stringAttribute(users.externalId, true),
  displayname: stringAttribute(sql`coalesce(${users.displayName}, ${users.name})`, false),
  'name.formatted': stringAttribute(users.name, false),
  'name.givenname': stringAttribute(users.givenName, false),
  'name.familyname': stringAttribute(users.familyName, false),
  emails: email,
  'emails.value': email,
  'emails.type': constantAttribute('work'),
  'emails.primary': primary,
  active,
  'meta.created': timestampAttribute(users.createdAt),
  'meta.lastmodified': timestampAttribute(users.updatedAt)
}

function attributeOf (path: string, within: Record<string, FilterAttribute>): FilterAttribute {
  const found = within[canonicalPath(path)]
  if (found === undefined) throw invalid(`${path} is not an attribute a filter can use here.`)
  return found
}

function translate (filter: Filter, depth: number, within: Record<string, FilterAttribute>): SQL {
  if (depth > MAX_DEPTH) throw invalid(`The filter nests more than ${MAX_DEPTH} levels.`)
  switch (filter.op) {
    case 'and': return and(...filter.filters.map((part) => translate(part, depth + 1, within)))!
    case 'or': return or(...filter.filters.map((part) => translate(part, depth + 1, within)))!
    case 'not': return not(translate(filter.filter, depth + 1, within))
    case '[]': {
      if (canonicalPath(filter.attrPath) !== 'emails') throw invalid(`${filter.attrPath} has no values to filter.`)
      return translate(filter.valFilter, depth + 1, EMAIL_SUB_ATTRIBUTES)
    }
    case 'pr': return attributeOf(filter.attrPath, within).present()
    default: return attributeOf(filter.attrPath, within).compare(filter.op, filter.compValue, filter.attrPath)
  }
}

/**
 * A SCIM filter (RFC 7644 §3.4.2.2) as a condition on users. `userName`, `externalId` and
 * `id` with `eq` are lookups on unique indexes; `co`/`sw`/`ew` on `userName` use the
 * trigram index. A filter that does not parse, names an attribute that cannot be
 * filtered, or compares with the wrong kind of value is an `invalidFilter`.
 */
export function userFilter (text: string): SQL {
  return translate(parsed(text), 0, USER_ATTRIBUTES)
}

const GROUP_ATTRIBUTES = new Set(['id', 'displayname'])

function assertGroupAttributes (filter: Filter, depth: number): void {
  if (depth > MAX_DEPTH) throw invalid(`The filter nests more than ${MAX_DEPTH} levels.`)
  switch (filter.op) {
    case 'and': case 'or': filter.filters.forEach((part) => assertGroupAttributes(part, depth + 1)); return
    case 'not': assertGroupAttributes(filter.filter, depth + 1); return
    case '[]': throw invalid(`${filter.attrPath} has no values to filter.`)
    default:
      if (!GROUP_ATTRIBUTES.has(canonicalPath(filter.attrPath))) throw invalid(`${filter.attrPath} is not an attribute a filter can use here.`)
  }
}

function parsed (text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw invalid(`A filter is at most ${MAX_FILTER_LENGTH} characters.`)
  try {
    return parse(text)
  } catch {
    throw invalid('The filter does not parse (RFC 7644 §3.4.2.2).')
  }
}

/** A group filter, on `id` and `displayName`, as a test of a group: there are two, filtered in memory. */
export function groupFilter (text: string): (group: { id: string, displayName: string }) => boolean {
  const tree = parsed(text)
  assertGroupAttributes(tree, 0)
  return matcher(tree)
}

function matcher (filter: Filter): (group: { id: string, displayName: string }) => boolean {
  switch (filter.op) {
    case 'and': { const parts = filter.filters.map(matcher); return (group) => parts.every((part) => part(group)) }
    case 'or': { const parts = filter.filters.map(matcher); return (group) => parts.some((part) => part(group)) }
    case 'not': { const inner = matcher(filter.filter); return (group) => !inner(group) }
    case 'pr': return () => true
    case '[]': return () => false
    default: {
      const attribute = canonicalPath(filter.attrPath) === 'id' ? 'id' : 'displayName'
      const { op, compValue, attrPath } = filter
      // Checked before any group is: a wrong kind of value is an invalidFilter even when no group would be compared.
      holds(op, '', compValue, attrPath)
      return (group) => holds(op, group[attribute], compValue, attrPath)
    }
  }
}
