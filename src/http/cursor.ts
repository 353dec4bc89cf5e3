import { createHash } from 'node:crypto'
import canonicalJson from 'safe-stable-stringify'
import { ProblemError } from './problem-error.ts'

/** What a cursor is valid with: a position in one order of one set of users means nothing in another. */
export interface CursorScope {
  sort: string
  /** The filters, normalised so that filters matching the same users are equal. */
  filters: Record<string, string | undefined>
}

/** Where the next page starts: after the row with this sort key (as text) and id. */
export interface CursorPosition {
  key: string
  id: string
}

type CursorFields = [sort: string, filters: string, key: string, id: string]

// Cursors are opaque to clients so the keyset behind them can change without breaking
// them; the version prefix makes every cursor of another version simply invalid.
const PREFIX = 'u2:'

// Tells filters apart without carrying them (a `q` may be long); it guards against
// mistakes, not attacks, so a short hash does.
function fingerprint (filters: CursorScope['filters']): string {
  return createHash('sha256').update(canonicalJson(filters)).digest('base64url').slice(0, 12)
}

export function encodeCursor (scope: CursorScope, position: CursorPosition): string {
  const fields: CursorFields = [scope.sort, fingerprint(scope.filters), position.key, position.id]
  return Buffer.from(PREFIX + JSON.stringify(fields)).toString('base64url')
}

function isCursorFields (value: unknown): value is CursorFields {
  return Array.isArray(value) && value.length === 4 && value.every((field) => typeof field === 'string')
}

function fieldsOf (cursor: string): CursorFields | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  // Decoding skips what is not base64url and patches invalid UTF-8: only what encodeCursor wrote reads back the same.
  if (Buffer.from(text).toString('base64url') !== cursor || !text.startsWith(PREFIX)) return undefined
  try {
    const fields: unknown = JSON.parse(text.slice(PREFIX.length))
    return isCursorFields(fields) ? fields : undefined
  } catch {
    return undefined
  }
}

function invalidCursor (detail: string): ProblemError {
  return new ProblemError('invalid-parameters', 'The cursor is not one this service issued for this listing.', {
    errors: [{ pointer: 'cursor', detail }]
  })
}

/**
 * The position of a cursor issued for this scope, when `accepts` takes it too. Anything
 * else (garbage, tampering, another version, sort or filters) is a 400 naming `cursor`.
 */
export function decodeCursor (cursor: string, scope: CursorScope, accepts: (position: CursorPosition) => boolean): CursorPosition {
  const fields = fieldsOf(cursor)
  if (fields === undefined) throw invalidCursor('is not a valid cursor')
  const [sort, filters, key, id] = fields
  if (sort !== scope.sort || filters !== fingerprint(scope.filters)) throw invalidCursor('was issued for another sort or other filters')
  if (!accepts({ key, id })) throw invalidCursor('is not a valid cursor')
  return { key, id }
}
