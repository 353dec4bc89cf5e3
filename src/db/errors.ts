// Node socket errors and postgres.js's own connection errors.
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED',
  // Our own client-side deadline (deadline.ts): a frozen or swamped server.
  'QUERY_DEADLINE'
])

// SQLSTATEs that mean "the database cannot serve now", not "this query is wrong":
// statement timeout, too many connections, shutting down or starting up, and a
// transaction that lost a race (serialization failure, deadlock) even on its retry.
const UNAVAILABLE_SQLSTATES = new Set(['57014', '53300', '57P01', '57P02', '57P03', '40001', '40P01'])

// A transaction that lost a race with another: run again, it most likely wins.
const CONFLICT_SQLSTATES = new Set(['40001', '40P01'])

/** Whether an error (or its cause) is a serialization failure or a deadlock: the transaction is worth one retry. */
function isTransactionConflict (error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; current = (current as Error).cause, depth += 1) {
    const code = codeOf(current)
    if (code !== undefined && CONFLICT_SQLSTATES.has(code)) return true
  }
  return false
}

function codeOf (error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Whether an error (or its cause: drizzle wraps driver errors) says the database is
 * unreachable or overloaded, which is worth a 503 and a retry rather than a 500.
 */
export function isDatabaseUnavailable (error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; current = (current as Error).cause, depth += 1) {
    const code = codeOf(current)
    if (code !== undefined && (CONNECTION_ERROR_CODES.has(code) || code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code))) return true
  }
  return false
}

const UNIQUE_VIOLATION = '23505'

/** Whether an error (or its cause) is a unique index (`index`, when named) refusing a duplicate. */
export function isUniqueViolation (error: unknown, index?: string): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (codeOf(current) === UNIQUE_VIOLATION) return index === undefined || constraintOf(current) === index
  }
  return false
}

// postgres.js names it constraint_name; PGlite, like node-postgres, constraint.
function constraintOf (error: Error): string | undefined {
  const { constraint_name: constraintName, constraint } = error as { constraint_name?: unknown, constraint?: unknown }
  const name = constraintName ?? constraint
  return typeof name === 'string' ? name : undefined
}

/**
 * Runs a transaction once more when it lost a race (a deadlock or a serialization failure
 * rolled it back); a second loss is the caller's error, a 503 with Retry-After. Only for a
 * transaction that writes nothing but through itself and reads no input it cannot read
 * twice (an import's streamed body, say).
 */
export async function retryingConflicts<T> (run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (!isTransactionConflict(error)) throw error
    return run()
  }
}
