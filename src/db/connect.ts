import { mkdir } from 'node:fs/promises'
import { sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import type { TransactionSql } from 'postgres'
import { migrationsFolder } from '../runtime/project-root.ts'
import { deadlines, transactionWithDeadline } from './deadline.ts'
import { observePromise, queryObservers, type QueryObservers } from './observe.ts'
import { preparingStatements } from './prepared-statements.ts'
import * as schema from './schema.ts'
import { superviseQuery } from './supervised-query.ts'

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>

export interface DatabaseSettings {
  /** `postgres://…` for PostgreSQL; unset for the embedded PGlite database. */
  url: string | undefined
  /** Where PGlite keeps its files; `memory://` keeps it in memory. */
  pgliteDataDir: string
  /**
   * PGlite only: a data directory dumped by PGlite's `dumpDataDir` that a new in-memory
   * database starts from instead of an empty one. Opening a dump costs a fraction of a new
   * database's initdb: the test suite migrates one and starts every test's database from it.
   */
  pgliteSeed?: Blob | undefined
  poolMax: number
  /** PostgreSQL only: how long opening a connection may take (default 5 s). */
  connectTimeoutMs?: number
  /** PostgreSQL only: longer statements are cancelled (default 5 s), so an outage is a quick 503, not a hang. */
  statementTimeoutMs?: number
  /**
   * PostgreSQL only: the client's own deadline for a statement or a transaction, the wait
   * for a connection included (default 5 s). Unlike statement_timeout it holds when the
   * server is frozen and cannot enforce anything.
   */
  queryTimeoutMs?: number
}

export interface DatabaseConnection {
  db: Database
  driver: 'postgres' | 'pglite'
  /** Applies the committed drizzle-kit migrations; safe to run on every start. */
  migrate (): Promise<void>
  /** Resolves when the database answers a trivial query. */
  ping (): Promise<void>
  close (): Promise<void>
  /**
   * Calls onNotification with the payload of each NOTIFY on the channel, and
   * onListening whenever listening (re)starts: what was sent while not listening
   * is lost. Resolves to a function that stops listening.
   */
  listen (channel: string, onNotification: (payload: string) => void, onListening: () => void): Promise<() => Promise<void>>
  /** Observers of every statement on the pool (metrics, traces). */
  observers: QueryObservers
}

// Any constant shared by all replicas; it serialises concurrent migrations.
const MIGRATION_LOCK_ID = 0x75736572

async function connectPostgres ({ url, poolMax, connectTimeoutMs = 5000, statementTimeoutMs = 5000, queryTimeoutMs = 5000 }: DatabaseSettings & { url: string }): Promise<DatabaseConnection> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const { migrate } = await import('drizzle-orm/postgres-js/migrator')
  const options = {
    connect_timeout: connectTimeoutMs / 1000,
    idle_timeout: 60,
    onnotice: () => {},
    connection: { application_name: 'users-service' }
  }
  // The migration lock waits for other replicas' migrations, so only the pool gets the statement timeout.
  const client = postgres(url, { ...options, max: poolMax, connection: { ...options.connection, statement_timeout: statementTimeoutMs } })
  const observers = queryObservers()
  const limit = deadlines(queryTimeoutMs)
  // drizzle sends every statement outside transactions through unsafe(), and each
  // transaction through begin() (whose own BEGIN comes through unsafe() too): each gets the
  // client-side deadline of deadline.ts. What a caller that got a QueryDeadlineError may
  // assume: a statement that was sent (postgres.js also pipelines onto busy connections)
  // may still run when a frozen server thaws, unless the cancel sent at the deadline gets
  // there first; a transaction is rolled back then, unless its COMMIT had been sent. So a
  // deadline on a write means "maybe written": retry it with a condition (docs/behaviour.md).
  const unsafe = preparingStatements(client).unsafe.bind(client)
  client.unsafe = ((query: string, ...rest: Parameters<typeof unsafe> extends [unknown, ...infer R] ? R : never) => {
    const pending = unsafe(query, ...rest)
    // begin()'s own BEGIN (the one with onexecute) is left to the transaction's deadline:
    // were begin() to give up on it, a BEGIN that completes at the thaw would leave its
    // connection reserved in an open transaction for good.
    const ownBegin = (rest[1] as { onexecute?: unknown } | undefined)?.onexecute !== undefined
    return superviseQuery(pending, query, observers, ownBegin ? undefined : limit)
  }) as typeof client.unsafe
  const begin = client.begin.bind(client) as (...args: unknown[]) => Promise<unknown>
  client.begin = ((...args: unknown[]) => {
    // begin(fn) or begin(options, fn); the transaction's statements go through a client of its own.
    const fn = args.pop() as (scope: TransactionSql) => unknown
    return transactionWithDeadline(begin, [...args, (scope: TransactionSql) => fn(preparingStatements(scope))], limit)
  }) as typeof client.begin
  const db = drizzle({ client, schema })

  // Replicas starting together must not run the same migration twice: one
  // connection holds a session advisory lock while the migrator runs on it.
  async function migrateUnderLock (): Promise<void> {
    const lockClient = postgres(url, { ...options, max: 1 })
    try {
      await lockClient`select pg_advisory_lock(${MIGRATION_LOCK_ID})`
      await migrate(drizzle({ client: lockClient }), { migrationsFolder })
    } finally {
      await lockClient.end({ timeout: 5 })
    }
  }

  return {
    db,
    driver: 'postgres',
    migrate: migrateUnderLock,
    ping: async () => { await db.execute(sql`select 1`) },
    close: () => client.end({ timeout: 5 }),
    // postgres.js listens on a connection of its own and listens again after reconnecting.
    listen: async (channel, onNotification, onListening) => (await client.listen(channel, onNotification, onListening)).unlisten,
    observers
  }
}

async function connectPglite (dataDir: string, seed: Blob | undefined): Promise<DatabaseConnection> {
  const { PGlite } = await import('@electric-sql/pglite')
  // Migration 0008 creates pg_trgm, for the trigram indexes of the user search.
  const { pg_trgm: pgTrgm } = await import('@electric-sql/pglite/contrib/pg_trgm')
  const { drizzle } = await import('drizzle-orm/pglite')
  const { migrate } = await import('drizzle-orm/pglite/migrator')
  if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true })
  const client = await PGlite.create(dataDir, { extensions: { pg_trgm: pgTrgm }, ...(seed === undefined ? {} : { loadDataDir: seed }) })
  const observers = queryObservers()
  const query = client.query.bind(client)
  client.query = ((statement: string, ...rest: Parameters<typeof query> extends [unknown, ...infer R] ? R : never) =>
    observePromise(() => query(statement, ...rest), statement, observers)) as typeof client.query
  const db = drizzle({ client, schema })
  return {
    db,
    driver: 'pglite',
    migrate: () => migrate(db, { migrationsFolder }),
    ping: async () => { await db.execute(sql`select 1`) },
    close: async () => { if (!client.closed) await client.close() },
    // In-process: once listening, nothing can interrupt it.
    listen: async (channel, onNotification, onListening) => {
      const unlisten = await client.listen(channel, onNotification)
      onListening()
      return async () => { if (!client.closed) await unlisten() }
    },
    observers
  }
}

export function connectDatabase (settings: DatabaseSettings): Promise<DatabaseConnection> {
  return settings.url === undefined
    ? connectPglite(settings.pgliteDataDir, settings.pgliteSeed)
    : connectPostgres({ ...settings, url: settings.url })
}
