import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import t from 'tap'

const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
const apiPage = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8')
const openapi = JSON.parse(await readFile(new URL('../../openapi.json', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, unknown>> }

/** The rows of docs/api.md's operations table: `METHOD /path`. */
function documentedOperations (): string[] {
  return [...apiPage.matchAll(/^\| `([A-Z]+) (\/[^`]*)` \|/gm)].map(([, method, path]) => `${method} ${path}`)
}

t.test('docs/api.md lists exactly the operations openapi.json documents', async (t) => {
  const documented = Object.entries(openapi.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
  t.ok(documented.length > 0)
  t.same(documentedOperations().sort(), documented.sort(), 'update the operations table in docs/api.md')
})

t.test('no tracked file refers to a path outside the repository', async (t) => {
  // Built from parts so this file does not match itself.
  const outside = ['..', 'shared'].join('/')
  const tracked = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' }).split('\0').filter((file) => file !== '' && file !== 'package-lock.json')
  const offenders: string[] = []
  for (const file of tracked) {
    const text = await readFile(file, 'utf8').catch(() => '')
    if (text.includes(outside)) offenders.push(file)
  }
  t.same(offenders, [], `files mentioning ${outside}`)
})

t.test('the README is a map: short, and every link in it and in docs/ leads to a file', async (t) => {
  t.ok(readme.split('\n').length <= 200, `README.md has ${readme.split('\n').length} lines: depth belongs in docs/`)
  const pages = ['README.md', ...execFileSync('git', ['ls-files', 'docs/*.md'], { encoding: 'utf8' }).split('\n').filter(Boolean)]
  t.ok(pages.length > 5, 'the docs/ pages are tracked')
  for (const page of pages) {
    const text = await readFile(page, 'utf8')
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue
      const file = join(dirname(page), target!)
      t.ok(existsSync(file), `${page} links to ${target}, which exists`)
    }
  }
})

const foldersOf = (parent: string): string[] => readdirSync(parent, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name)

t.test('the README\'s map names every folder of src/ and plugins/; test/ mirrors src/ or says why not', async (t) => {
  for (const parent of ['src', 'plugins']) {
    for (const folder of foldersOf(parent)) t.match(readme, `${parent}/${folder}/`, `README.md says what ${parent}/${folder}/ holds`)
  }
  const sourceFolders = foldersOf('src')
  for (const folder of foldersOf('test')) {
    if (['helpers', 'services', 'artifacts'].includes(folder)) continue
    t.ok(sourceFolders.includes(folder) || readme.includes(`\`${folder}/\``), `test/${folder}/ tests src/${folder}/, or README.md says what it holds`)
  }
})

t.test('the top of src/ holds only the composition root, the entry, the config and the CLIs', async (t) => {
  const files = readdirSync('src', { withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => entry.name)
  t.same(files.sort(), ['app.ts', 'config.ts', 'server.ts'])
})

t.test('every feature folder of src/ is under the domain\'s dependency rules', async (t) => {
  const require = createRequire(import.meta.url)
  const { forbidden } = require('../../.dependency-cruiser.cjs') as { forbidden: Array<{ name: string, from: { path?: string } }> }
  const domainRule = new RegExp(forbidden.find((rule) => rule.name === 'domain-knows-no-http')!.from.path!)
  for (const entry of readdirSync('src', { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const inDomain = domainRule.test(`src/${entry.name}/any.ts`)
    // The HTTP helpers and the CLIs are the only folders outside the domain.
    t.equal(inDomain, !['http', 'cli'].includes(entry.name), `src/${entry.name}/`)
  }
})

t.test('no route handler applies a rule or forgets a cache entry: the domain does', async (t) => {
  for (const file of readdirSync('routes')) {
    const text = await readFile(join('routes', file), 'utf8')
    t.notMatch(text, /accessChanges|forget(User|Session)|principalCache|\.role\s*[!=]==|assert(Admin|SelfOrAdmin|MaySet|CurrentPassword)|isAdmin|isSelf/, `routes/${file}`)
  }
})
