const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

// Cursors are opaque to clients so the keyset behind them can change without breaking them.
const PREFIX = 'u1:'

export function encodeCursor (lastId: string): string {
  return Buffer.from(PREFIX + lastId).toString('base64url')
}

/** The id a cursor points after, or undefined when it is not one of ours. */
export function decodeCursor (cursor: string): string | undefined {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8')
  const id = decoded.slice(PREFIX.length)
  return decoded.startsWith(PREFIX) && UUID.test(id) ? id : undefined
}
