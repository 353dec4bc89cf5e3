import postgres from 'postgres'
import { encodeCursor } from '../../src/http/cursor.ts'
import { seededPerson } from '../names.ts'

/** Every sort the listing allows. */
export const SORTS = ['created_at', '-created_at', 'email', '-email', 'name', '-name'] as const

const COLUMNS = { created_at: 'created_at', email: 'email', name: 'name' } as const

export interface ListingCase {
  name: string
  path: string
}

/**
 * The listing at page 1 and at a deep page (after the user 90 % of the way through that
 * order) for each sort, and searches by q for what people type to find one user: a full
 * name (which about one user in seven thousand shares) and the name part of an email
 * (one user). The deep cursors are made the way the service makes them, from the user
 * found in the database at that position.
 */
export async function listingCases (databaseUrl: string, userCount: number): Promise<ListingCase[]> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  const cases: ListingCase[] = []
  try {
    for (const sort of SORTS) {
      const descending = sort.startsWith('-')
      const column = COLUMNS[(descending ? sort.slice(1) : sort) as keyof typeof COLUMNS]
      const direction = descending ? 'desc' : 'asc'
      const [user] = await sql.unsafe<Array<{ id: string, created_at: Date, email: string, name: string }>>(
        `select id, created_at, email, name from users order by ${column} ${direction}, id ${direction} offset $1 limit 1`, [Math.floor(userCount * 0.9)])
      const key = column === 'created_at' ? user!.created_at.toISOString() : user![column]
      cases.push({ name: `GET /v1/users sort=${sort} page 1`, path: `/v1/users?limit=20&sort=${sort}` })
      cases.push({ name: `GET /v1/users sort=${sort} deep page`, path: `/v1/users?limit=20&sort=${sort}&cursor=${encodeCursor({ sort, filters: {} }, { key, id: user!.id })}` })
    }
  } finally {
    await sql.end()
  }
  const sought = seededPerson(Math.floor(userCount * 0.42))
  cases.push({ name: 'GET /v1/users q search by full name', path: `/v1/users?limit=20&q=${encodeURIComponent(sought.name)}` })
  cases.push({ name: 'GET /v1/users q search by email name', path: `/v1/users?limit=20&q=${encodeURIComponent(sought.email.split('@')[0]!)}` })
  return cases
}
