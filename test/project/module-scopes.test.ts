import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import type { ResolveFnOutput, ResolveHookContext } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { isModuleScope, resolveInModuleScopes } from '../../src/runtime/module-scopes.ts'

// A tree of packages: every file is an empty .js file unless it is a package.json.
const temporary = mkdtempSync(join(tmpdir(), 'module-scopes-'))
t.teardown(() => rmSync(temporary, { recursive: true, force: true }))
const root = join(temporary, 'node_modules')
// Under node_modules, as installed packages are: the hook answers only for their files.
const files: Record<string, string> = {
  'esm/package.json': '{"type":"module"}',
  'esm/a.js': '',
  'esm/nested/b.js': '',
  'esm/cjs/package.json': '{"type":"commonjs"}',
  'esm/cjs/c.js': '',
  'esm/broken/package.json': '{"type":',
  'esm/broken/d.js': '',
  'esm/folder.js/index.js': '',
  'typeless/package.json': '{}',
  'typeless/e.js': '',
  'bare/f.js': '',
  '../../package.json': '{"type":"module"}',
  '../app/g.js': ''
}
for (const [path, text] of Object.entries(files)) {
  mkdirSync(join(root, path, '..'), { recursive: true })
  writeFileSync(join(root, path), text)
}
symlinkSync(join(root, 'esm/a.js'), join(root, 'esm/linked.js'))

const parentIn = (directory: string): ResolveHookContext =>
  ({ parentURL: pathToFileURL(join(root, directory, 'importer.js')).href, conditions: ['node', 'import'], importAttributes: {} })

const NODE_RESOLVED: ResolveFnOutput = { url: 'node:resolved' }
function resolve (specifier: string, context: ResolveHookContext): { result: ResolveFnOutput, deferred: boolean } {
  let deferred = false
  const result = resolveInModuleScopes(specifier, context, (nextSpecifier, nextContext) => {
    deferred = nextSpecifier === specifier && nextContext === context
    return NODE_RESOLVED
  })
  return { result, deferred }
}

t.test('a relative .js import in an ES module package is answered without Node', async (t) => {
  t.same(resolve('./a.js', parentIn('esm')), { result: { url: pathToFileURL(join(root, 'esm/a.js')).href, format: 'module', shortCircuit: true }, deferred: false })
  t.same(resolve('../nested/b.js', parentIn('esm/nested')).result, { url: pathToFileURL(join(root, 'esm/nested/b.js')).href, format: 'module', shortCircuit: true },
    'a directory without a package.json is in the scope of the nearest one above it')
})

t.test('anything else goes on to Node, unchanged', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['./c.js', 'esm/cjs', 'a package of type commonjs'],
    ['./d.js', 'esm/broken', 'a package.json Node cannot parse (Node reports it)'],
    ['./e.js', 'typeless', 'a package without a type (Node may detect the syntax)'],
    ['./f.js', 'bare', 'a scope lookup does not look past node_modules'],
    ['./g.js', '../app', 'a file outside node_modules (a loader may map it to a source)'],
    ['./linked.js', 'esm', 'a symbolic link (Node loads its real path)'],
    ['./folder.js', 'esm', 'a directory'],
    ['./missing.js', 'esm', 'a file that does not exist (Node reports it)'],
    ['./a.js?x.js', 'esm', 'a query'],
    ['./%61.js', 'esm', 'a percent-escape (Node decodes it)'],
    ['./a.mjs', 'esm', 'another extension'],
    ['fastify', 'esm', 'a bare specifier']
  ]
  for (const [specifier, directory, why] of cases) t.same(resolve(specifier, parentIn(directory)), { result: NODE_RESOLVED, deferred: true }, why)
  t.same(resolve('./a.js', { ...parentIn('esm'), parentURL: 'data:text/javascript,' }), { result: NODE_RESOLVED, deferred: true }, 'a parent that is not a file')
  t.same(resolve('./a.js', { ...parentIn('esm'), parentURL: undefined }), { result: NODE_RESOLVED, deferred: true }, 'the entry point')
})

t.test('each directory is looked up once', async (t) => {
  t.equal(isModuleScope(join(root, 'esm/nested')), true)
  writeFileSync(join(root, 'esm/package.json'), '{"type":"commonjs"}')
  t.equal(isModuleScope(join(root, 'esm/nested')), true, 'remembered: the files are read at startup only')
  t.equal(isModuleScope(join(root, 'esm/never-asked')), true, 'the parent answers from what it remembered')
  t.equal(isModuleScope(root), false, 'a node_modules directory is no package scope')
})
