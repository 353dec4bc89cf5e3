import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The same code runs from src/ (tsx, tests) and from dist/src/ (built), so paths to
// files that are not compiled (migrations, package.json) are found from the package root.
function findProjectRoot (start: string): string {
  let directory = start
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory)
    if (parent === directory) throw new Error(`no package.json above ${start}`)
    directory = parent
  }
  return directory
}

export const projectRoot = findProjectRoot(dirname(fileURLToPath(import.meta.url)))

export const migrationsFolder = join(projectRoot, 'migrations')

export const packageInfo = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
  name: string
  version: string
  description: string
}
