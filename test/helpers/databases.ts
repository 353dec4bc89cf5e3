import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import type { Test } from 'tap'
import type { DatabaseSettings } from '../../src/db/connect.js'

export interface TestDatabase {
  name: 'pglite' | 'postgres'
  /** Why this database cannot be used in this run, or undefined when it can. */
  unavailable: string | undefined
  /**
   * A fresh, empty database for one test; dropped when the test ends. PGlite keeps
   * it in memory unless it must outlive an app instance (`persistent`).
   */
  create (t: Test, options?: { persistent?: boolean }): Promise<DatabaseSettings>
}

const pglite: TestDatabase = {
  name: 'pglite',
  unavailable: undefined,
  async create (t, { persistent = false } = {}) {
    if (!persistent) return { url: undefined, pgliteDataDir: 'memory://', poolMax: 1 }
    const directory = await mkdtemp(join(tmpdir(), 'users-service-pglite-'))
    t.teardown(() => rm(directory, { recursive: true, force: true }))
    return { url: undefined, pgliteDataDir: directory, poolMax: 1 }
  }
}

const serverUrl = process.env.TEST_POSTGRES_URL
// In CI a missing server is a failure (create() throws), never a skip.
const postgresMissing = serverUrl === undefined && process.env.CI !== 'true'

const postgresDatabase: TestDatabase = {
  name: 'postgres',
  unavailable: postgresMissing ? 'TEST_POSTGRES_URL is not set: run the suite with `npm test`' : undefined,
  async create (t) {
    if (serverUrl === undefined) throw new Error('TEST_POSTGRES_URL is not set')
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
    const name = `users_test_${randomBytes(6).toString('hex')}`
    await admin.unsafe(`create database ${name}`)
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
