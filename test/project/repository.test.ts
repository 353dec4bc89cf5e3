import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import t from 'tap'

const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
const openapi = JSON.parse(await readFile(new URL('../../openapi.json', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, unknown>> }

/** The rows of the README's operations table under "## API": `METHOD /path`. */
function readmeOperations (): string[] {
  const section = readme.split(/^## /m).find((part) => part.startsWith('API\n'))
  if (section === undefined) return []
  return [...section.matchAll(/^\| `([A-Z]+) (\/[^`]*)` \|/gm)].map(([, method, path]) => `${method} ${path}`)
}

t.test('the README lists exactly the operations openapi.json documents', async (t) => {
  const documented = Object.entries(openapi.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
  t.ok(documented.length > 0)
  t.same(readmeOperations().sort(), documented.sort(), 'update the table under "## API" in README.md')
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
