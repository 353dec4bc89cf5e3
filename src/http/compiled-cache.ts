import { createHash } from 'node:crypto'

// Compiled functions by what they were compiled from, for the life of the process.
const compiled = new Map<string, unknown>()

function digest (value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value) ?? '').digest('base64url')
}

/**
 * A schema compiler that remembers what it compiled for the life of the process, by a
 * digest of the context it was built in (shared schemas, options) and of what `keyOf`
 * takes from each route. Fastify compiles each route's schemas when an app is built, and
 * each app's route schemas are new objects, so neither ajv's cache (by identity) nor
 * fast-json-stringify's helps a process that builds many apps from the same schemas (the
 * tests, the bench's ledger): each paid for every compilation again. The compiled
 * functions keep no state between calls, so apps can share them; a server building one
 * app compiles exactly as before.
 */
export function rememberCompiled<Route, Compiled> (kind: string, context: unknown, compile: (route: Route) => Compiled, keyOf: (route: Route) => unknown): (route: Route) => Compiled {
  const prefix = `${kind}:${digest(context)}`
  return (route) => {
    const key = `${prefix}:${digest(keyOf(route))}`
    let result = compiled.get(key) as Compiled | undefined
    if (result === undefined) {
      result = compile(route)
      compiled.set(key, result)
    }
    return result
  }
}
