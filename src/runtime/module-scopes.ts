import { readFileSync, realpathSync, statSync } from 'node:fs'
import type { ResolveFnOutput, ResolveHookContext } from 'node:module'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const moduleScopes = new Map<string, boolean>()

/** The directory's own package.json says `"type": "module"` (true) or not (false); undefined without one. */
function declaresModuleType (directory: string): boolean | undefined {
  let text: string
  try {
    text = readFileSync(join(directory, 'package.json'), 'utf8')
  } catch {
    return undefined
  }
  try {
    return (JSON.parse(text) as { type?: unknown }).type === 'module'
  } catch {
    // Node reports a broken package.json itself, with its own message.
    return false
  }
}

/**
 * Whether the nearest package.json above the directory declares `"type": "module"`, as
 * Node's package scope lookup finds it (which does not look past a node_modules directory).
 */
export function isModuleScope (directory: string): boolean {
  if (basename(directory) === 'node_modules') return false
  let found = moduleScopes.get(directory)
  if (found === undefined) {
    const parent = dirname(directory)
    found = declaresModuleType(directory) ?? (parent !== directory && isModuleScope(parent))
    moduleScopes.set(directory, found)
  }
  return found
}

// Node resolves symbolic links (a module's identity is its real path): a path through one is left to it.
function isRealFile (path: string): boolean {
  try {
    return statSync(path).isFile() && realpathSync.native(path) === path
  } catch {
    return false
  }
}

// Without percent-escapes, which Node decodes (and then names the module by its decoded path).
const RELATIVE_JS = /^\.\.?\/[^?#%]*\.js$/
const IN_PACKAGES = /\/node_modules\//

/**
 * A resolve hook (node:module registerHooks). Node 24 looks up the package scope of every
 * file it loads, to tell its format, and on each lookup walks up the directories and
 * hands that scope's package.json to JavaScript again, `exports` map and all: drizzle-orm's
 * is 180 kB and the service loads about a hundred of its files, which took about half of
 * the 1.3 s the server spent importing. This answers the common case itself, a relative
 * import of an existing `.js` file by a file of an installed ES module package, reading
 * each directory's package.json once; anything else, the service's own files included
 * (a loader such as tsx may map them to sources), goes on to Node's own resolution.
 */
export function resolveInModuleScopes (
  specifier: string,
  context: ResolveHookContext,
  nextResolve: (specifier: string, context?: Partial<ResolveHookContext>) => ResolveFnOutput
): ResolveFnOutput {
  const parent = context.parentURL
  if (parent?.startsWith('file:') === true && IN_PACKAGES.test(parent) && RELATIVE_JS.test(specifier)) {
    const url = new URL(specifier, parent)
    const path = fileURLToPath(url)
    if (isModuleScope(dirname(path)) && isRealFile(path)) return { url: url.href, format: 'module', shortCircuit: true }
  }
  return nextResolve(specifier, context)
}
