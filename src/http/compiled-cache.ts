import { createHash } from 'node:crypto'

// Compiled functions by what they were compiled from, for the life of the process.
const compiled = new Map<string, unknown>()

type CompiledFunction = ((...args: never[]) => unknown) & { errors?: unknown }

/** Compilations handed out and not yet run, so that a test can force them all (compilePending). */
let pending = new Set<WeakRef<() => void>>()

function digest (value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value) ?? '').digest('base64url')
}

/**
 * A schema compiler that compiles each route's schema on its first use, and remembers
 * what it compiled for the life of the process, by a digest of the context it was built
 * in (shared schemas, options) and of what `keyOf` takes from each route.
 *
 * On first use: compiling every route's response serializers and validators when the
 * app is built was about a third of a cold start (fast-json-stringify takes in every
 * shared schema for each build), mostly for routes a replica may never serve.
 * Remembered: each app's route schemas are new objects, so neither ajv's cache (by
 * identity) nor fast-json-stringify's helps a process that builds many apps from the
 * same schemas (the tests, the bench's ledger). The compiled functions keep no state
 * between calls, so apps can share them. A validator's `errors` are copied onto the
 * function Fastify holds, which is where it reads them.
 */
export function rememberCompiled<Route, Compiled extends CompiledFunction> (kind: string, context: unknown, compile: (route: Route) => Compiled, keyOf: (route: Route) => unknown): (route: Route) => Compiled {
  let prefix: string | undefined
  const compileRemembered = (route: Route): Compiled => {
    prefix ??= `${kind}:${digest(context)}`
    const key = `${prefix}:${digest(keyOf(route))}`
    let result = compiled.get(key) as Compiled | undefined
    if (result === undefined) {
      result = compile(route)
      compiled.set(key, result)
    }
    return result
  }
  return (route) => {
    let compiledOnce: Compiled | undefined
    const force = (): Compiled => (compiledOnce ??= compileRemembered(route))
    const handle = new WeakRef(force)
    pending.add(handle)
    const lazy = function (this: unknown, ...args: never[]) {
      if (compiledOnce === undefined) {
        pending.delete(handle)
        force()
      }
      const result = compiledOnce!.apply(this, args)
      lazy.errors = compiledOnce!.errors
      return result
    } as Compiled
    return lazy
  }
}

/**
 * Compiles every schema handed out and not yet used, so that a test can prove they all
 * compile (a broken one would otherwise surface as a 500 on the route's first use);
 * resolves to how many it compiled.
 */
export function compilePending (): number {
  const handles = pending
  pending = new Set()
  let count = 0
  for (const handle of handles) {
    const force = handle.deref()
    if (force === undefined) continue
    force()
    count += 1
  }
  return count
}
