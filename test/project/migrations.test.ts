import { spawnSync } from 'node:child_process'
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { withoutCoverage } from '../helpers/child-process.ts'
import { connectDatabase } from '../../src/db/connect.ts'
import { forEachDatabase } from '../helpers/databases.ts'

t.test('the committed migrations match the drizzle schema', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'users-service-migrations-'))
  t.teardown(() => rm(out, { recursive: true, force: true }))
  await cp('migrations', out, { recursive: true })
  const before = await readdir(out)
  const generate = spawnSync('node_modules/.bin/drizzle-kit', ['generate', '--dialect=postgresql', '--schema=./src/db/schema.ts', `--out=${out}`], { encoding: 'utf8', env: withoutCoverage(process.env) })
  t.equal(generate.status, 0, generate.stderr)
  t.same(await readdir(out), before, 'drizzle-kit generated nothing new: run `npm run db:generate` and commit the result')
})

forEachDatabase(t, async (t, database) => {
  t.test('migrations are idempotent and safe to run from several replicas at once', async (t) => {
    const settings = await database.create(t, { empty: true })
    // PGlite is one process's embedded database: no second replica can share it.
    const replicaCount = database.name === 'postgres' ? 3 : 1
    const replicas = await Promise.all(Array.from({ length: replicaCount }, () => connectDatabase(settings)))
    t.teardown(() => Promise.all(replicas.map((replica) => replica.close())))
    await Promise.all(replicas.map((replica) => replica.migrate()))
    await replicas[0]!.migrate()
    const result = await replicas[0]!.db.execute(sql`select count(*)::int as count from drizzle.__drizzle_migrations`)
    // postgres.js answers with an array of rows, PGlite with { rows }.
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ count: number }>
    t.equal(rows[0]?.count, (await readdir('migrations')).filter((name) => name.endsWith('.sql')).length)
  })
})
