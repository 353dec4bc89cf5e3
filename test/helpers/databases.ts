import { randomBytes } from 'node:crypto'
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import type { Test } from 'tap'
import type { DatabaseSettings } from '../../src/db/connect.ts'

export interface TestDatabase {
  name: 'pglite' | 'postgres'
  /** Why this database cannot be used in this run, or undefined when it can. */
  unavailable: string | undefined
  /**
   * A fresh database for one test, with every migration applied (`empty`: none); dropped
   * when the test ends. PGlite keeps it in memory unless it must outlive an app instance
   * (`persistent`).
   */
  create (t: Test, options?: { persistent?: boolean, empty?: boolean }): Promise<DatabaseSettings>
}

/**
 * `npm test` migrates one PGlite database (as a data directory, and as its dump) and one
 * PostgreSQL database before tap starts (test/run-suite.ts): starting from one of them
 * costs a fraction of a new database (PGlite's initdb alone takes seconds of CPU) and of
 * running every migration again.
 */
export const PGLITE_TEMPLATE_VARIABLE = 'TEST_PGLITE_TEMPLATE'
export const PGLITE_SEED_VARIABLE = 'TEST_PGLITE_SEED'
export const POSTGRES_TEMPLATE_VARIABLE = 'TEST_POSTGRES_TEMPLATE'

let seed: Promise<Blob> | undefined
function pgliteSeed (): Promise<Blob> | undefined {
  const file = process.env[PGLITE_SEED_VARIABLE]
  if (file === undefined) return undefined
  seed ??= readFile(file).then((bytes) => new Blob([bytes]))
  return seed
}

/** A new PGlite data directory, a copy of the migrated template when there is one; removed when the test ends. */
export async function pgliteDirectory (t: Test, { empty = false }: { empty?: boolean } = {}): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'users-service-pglite-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const template = process.env[PGLITE_TEMPLATE_VARIABLE]
  if (template !== undefined && !empty) await cp(template, directory, { recursive: true })
  return directory
}

/** A new in-memory PGlite database, migrated (from the suite's dump, when there is one). */
export async function memoryDatabase (): Promise<DatabaseSettings> {
  return { url: undefined, pgliteDataDir: 'memory://', pgliteSeed: await pgliteSeed(), poolMax: 1 }
}

const pglite: TestDatabase = {
  name: 'pglite',
  unavailable: undefined,
  async create (t, { persistent = false, empty = false } = {}) {
    if (persistent) return { url: undefined, pgliteDataDir: await pgliteDirectory(t, { empty }), poolMax: 1 }
    return empty ? { url: undefined, pgliteDataDir: 'memory://', poolMax: 1 } : memoryDatabase()
  }
}

const serverUrl = process.env.TEST_POSTGRES_URL
// In CI a missing server is a failure (create() throws), never a skip.
const postgresMissing = serverUrl === undefined && process.env.CI !== 'true'

const postgresDatabase: TestDatabase = {
  name: 'postgres',
  unavailable: postgresMissing ? 'TEST_POSTGRES_URL is not set: run the suite with `npm test`' : undefined,
  async create (t, { empty = false } = {}) {
    if (serverUrl === undefined) throw new Error('TEST_POSTGRES_URL is not set')
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
    const name = `users_test_${randomBytes(6).toString('hex')}`
    const template = process.env[POSTGRES_TEMPLATE_VARIABLE]
    await admin.unsafe(template === undefined || empty ? `create database ${name}` : `create database ${name} template ${template}`)
    await admin.end()
    t.teardown(async () => {
      const cleanup = postgres(serverUrl, { max: 1, onnotice: () => {} })
      await cleanup.unsafe(`drop database if exists ${name} with (force)`)
      await cleanup.end()
    })
    const url = new URL(serverUrl)
    url.pathname = `/${name}`
    return { url: url.toString(), pgliteDataDir: 'memory://', poolMax: 10 }
  }
}

export const testDatabases: TestDatabase[] = [pglite, postgresDatabase]

/** Runs the same tests once per database, as subtests named after it. */
export function forEachDatabase (t: Test, tests: (t: Test, database: TestDatabase) => Promise<void> | void): void {
  for (const database of testDatabases) {
    t.test(database.name, { skip: database.unavailable }, (t) => tests(t, database))
  }
}
