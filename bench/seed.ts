/**
 * Fills a PostgreSQL database with users for the benchmarks: the service's own
 * migrations, one admin, then `count` users inserted in batches, with a progress bar.
 * Every seeded user shares one argon2id hash (hashing a million passwords would
 * measure argon2, not the service). Names and emails are spread the way a real user
 * table's are (bench/names.ts), since what the sorts and the trigram search cost depends
 * on how the values share prefixes and trigrams.
 *   tsx bench/seed.ts --database-url postgres://… [--users 100000]
 */
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { uuidv7 } from 'uuidv7'
import { connectDatabase } from '../src/db/connect.ts'
import { OWASP_BASELINE, passwordHasher } from '../src/identity/passwords.ts'
import { seededPerson } from './names.ts'

export const SEED_PASSWORD = 'bench password 1'
const BATCH = 5000

export interface SeededData {
  adminId: string
  /** Every seeded user id, in keyset (id) order. */
  userIds: string[]
}

function progress (done: number, total: number): void {
  const width = 30
  const filled = Math.round((done / total) * width)
  process.stderr.write(`\rseeding [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`)
  if (done === total) process.stderr.write('\n')
}

export async function seedUsers (databaseUrl: string, count: number): Promise<SeededData> {
  const connection = await connectDatabase({ url: databaseUrl, pgliteDataDir: 'memory://', poolMax: 1 })
  await connection.migrate()
  await connection.close()

  const passwordHash = await passwordHasher(OWASP_BASELINE).hash(SEED_PASSWORD)
  const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} })
  try {
    const adminId = uuidv7()
    await sql`insert into users ${sql({ id: adminId, email: 'admin@bench.example', name: 'Bench Admin', role: 'admin', password_hash: passwordHash })}`
    const userIds: string[] = []
    for (let start = 0; start < count; start += BATCH) {
      const rows = Array.from({ length: Math.min(BATCH, count - start) }, (_, offset) => {
        const id = uuidv7()
        userIds.push(id)
        return { id, ...seededPerson(start + offset), role: 'user', password_hash: passwordHash }
      })
      await sql`insert into users ${sql(rows)}`
      progress(start + rows.length, count)
    }
    // Vacuumed now, not by autovacuum in the middle of the first measurement (it sets the
    // visibility map too, which index-only scans need).
    await sql`vacuum (analyze) users`
    return { adminId, userIds }
  } finally {
    await sql.end()
  }
}

/** A seeded user with its created_at as the service writes it in a cursor (ISO, milliseconds), and its email. */
export async function createdAtOf (databaseUrl: string, id: string): Promise<{ id: string, createdAt: string, email: string }> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<Array<{ created_at: Date, email: string }>>`select created_at, email from users where id = ${id}`
    return { id, createdAt: row!.created_at.toISOString(), email: row!.email }
  } finally {
    await sql.end()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { 'database-url': { type: 'string' }, users: { type: 'string', default: '100000' } } })
  if (values['database-url'] === undefined) throw new Error('--database-url is required')
  const seeded = await seedUsers(values['database-url'], Number(values.users))
  console.log(`seeded ${seeded.userIds.length} users and an admin (${seeded.adminId})`)
}
