/**
 * The `keys` of a key set given as JSON (`{"keys": [ … ]}`, as JWT_SIGNING_KEYS and
 * DATA_ENCRYPTION_KEYS are), or the reason it is none; never a key's contents.
 */
export function keysOfKeySet (json: string): unknown[] | 'not JSON' | 'no keys' {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return 'not JSON'
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys
  return Array.isArray(keys) && keys.length > 0 ? keys : 'no keys'
}
