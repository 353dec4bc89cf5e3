import { inArray } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { users } from '../../src/db/schema.ts'
import { encodeCursor } from '../../src/http/cursor.ts'
import type { Api, ApiResponse } from '../helpers/app.ts'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

async function createUsers (api: Api, count: number, overrides: (index: number) => Record<string, unknown> = () => ({})): Promise<string[]> {
  const ids: string[] = []
  for (let index = 0; index < count; index += 1) {
    ids.push((await api.post('/v1/users', newUser(overrides(index)))).body.id)
  }
  return ids
}

function nextLink (header: unknown): string | undefined {
  const match = /^<([^>]+)>; rel="next"$/.exec(String(header ?? ''))
  return match?.[1]
}

interface Listed { id: string, email: string, name: string, status: string, created_at: string }

const SORTS = ['created_at', '-created_at', 'email', '-email', 'name', '-name'] as const
type Sort = typeof SORTS[number]

function idsOf (listed: Listed[]): string[] {
  return listed.map((user) => user.id)
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The contract's order: by the sort key, ties by id, both reversed by a leading `-`. */
function inSortOrder (listed: Listed[], sort: Sort): Listed[] {
  const key = sort.replace(/^-/, '') as 'created_at' | 'email' | 'name'
  const sign = sort.startsWith('-') ? -1 : 1
  return [...listed].sort((a, b) => sign * (compare(a[key], b[key]) || compare(a.id, b.id)))
}

/** Every user from the first page to the last, following the Link headers; `between` runs before each next page. */
async function walk (t: Test, api: Api, firstPage: string, between: () => Promise<unknown> = async () => {}): Promise<Listed[]> {
  const listed: Listed[] = []
  for (let url: string | undefined = firstPage; url !== undefined;) {
    const response = await api.get(url)
    t.equal(response.status, 200, `${url} is a page`)
    listed.push(...response.body.data)
    url = nextLink(response.headers.link)
    if (url !== undefined) await between()
  }
  return listed
}

function isCursorProblem (t: Test, response: ApiResponse, message: string): void {
  t.equal(response.status, 400, message)
  t.equal(response.body.type, '/problems/invalid-parameters')
  t.same(response.body.errors.map((error: { pointer: string }) => error.pointer), ['cursor'])
}

// The cursor's layout, to tamper with it as a client could.
function forged (text: string): string {
  return Buffer.from(text).toString('base64url')
}

function forgedFields (...fields: unknown[]): string {
  return forged(`u2:${JSON.stringify(fields)}`)
}

function fieldsOf (cursor: string): [string, string, string, string] {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString().slice('u2:'.length))
}

forEachDatabase(t, async (t, database) => {
  const { admin: api, adminId } = await buildTestApp(t, await database.create(t))

  t.test('a collection holding only the bootstrap admin', async (t) => {
    const response = await api.get('/v1/users')
    t.equal(response.status, 200)
    t.match(response.body, { data: [{ id: adminId, role: 'admin' }], next_cursor: null })
    t.equal(response.body.data.length, 1)
    t.notOk(response.headers.link, 'no Link header on the last page')
  })

  const ids = await createUsers(api, 7, (index) => ({
    name: index % 2 === 0 ? `Even Person ${index}` : `Odd Person ${index}`,
    role: index === 3 ? 'admin' : 'user'
  }))

  t.test('by default pages follow creation order, with next_cursor and a Link header that agree', async (t) => {
    const seen: string[] = []
    let url: string | undefined = '/v1/users?limit=3'
    let pages = 0
    while (url !== undefined) {
      const response = await api.get(url)
      t.equal(response.status, 200)
      seen.push(...response.body.data.map((user: { id: string }) => user.id))
      const link = nextLink(response.headers.link)
      if (response.body.next_cursor === null) {
        t.equal(link, undefined)
      } else {
        t.equal(link, `/v1/users?limit=3&sort=created_at&cursor=${response.body.next_cursor}`, 'the default sort is spelled out')
      }
      url = link
      pages += 1
    }
    t.equal(pages, 3)
    t.same(seen, [adminId, ...ids], 'every user exactly once, in creation order')
  })

  t.test('the default page size is 20', async (t) => {
    const response = await api.get('/v1/users')
    t.equal(response.body.data.length, 8)
    t.equal(response.body.next_cursor, null)
  })

  t.test('filter by exact email, case-insensitively', async (t) => {
    const user = (await api.get(`/v1/users/${ids[2]}`)).body
    const response = await api.get(`/v1/users?email=${encodeURIComponent(user.email.toUpperCase())}`)
    t.same(response.body.data.map((found: { id: string }) => found.id), [ids[2]])
  })

  t.test('filter by role', async (t) => {
    const response = await api.get('/v1/users?role=admin')
    t.same(response.body.data.map((found: { id: string }) => found.id), [adminId, ids[3]])
  })

  t.test('q matches a substring of name or email, case-insensitively', async (t) => {
    const response = await api.get('/v1/users?q=eVeN%20pErSoN')
    t.same(response.body.data.map((found: { id: string }) => found.id), [ids[0], ids[2], ids[4], ids[6]])
    const byEmail = await api.get(`/v1/users?q=${encodeURIComponent('@EXAMPLE.com')}`)
    t.equal(byEmail.body.data.length, 8)
  })

  t.test('q treats LIKE wildcards literally', async (t) => {
    t.same((await api.get('/v1/users?q=%25')).body.data, [])
    t.same((await api.get('/v1/users?q=_')).body.data, [])
  })

  t.test('filters carry over into the next page link', async (t) => {
    const response = await api.get('/v1/users?limit=2&q=even')
    const link = nextLink(response.headers.link)
    t.match(link, /^\/v1\/users\?limit=2&q=even&sort=created_at&cursor=/)
    const second = await api.get(link!)
    t.same(second.body.data.map((found: { id: string }) => found.id), [ids[4], ids[6]])
  })

  const badQueries: Array<[string, string]> = [
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=ten', 'limit'],
    ['limit=2.5', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    [`cursor=${Buffer.from('u1:not-a-uuid').toString('base64url')}`, 'cursor'],
    ['role=superuser', 'role'],
    ['email=not-an-email', 'email'],
    [`q=${'x'.repeat(101)}`, 'q'],
    ['sort=age', 'sort'],
    ['sort=Name', 'sort'],
    ['sort=', 'sort'],
    ['sort=name&sort=email', 'sort'],
    ['status=gone', 'status'],
    ['include_total=yes', 'include_total'],
    [`cursor=${'x'.repeat(10_000)}`, 'cursor']
  ]
  for (const [query, parameter] of badQueries) {
    t.test(`?${query.slice(0, 30)} is a 400 naming ${parameter}`, async (t) => {
      const response = await api.get(`/v1/users?${query}`)
      t.equal(response.status, 400)
      t.equal(response.body.type, '/problems/invalid-parameters')
      t.same(response.body.errors.map((error: { pointer: string }) => error.pointer), [parameter])
    })
  }

  t.test('walking all pages while users are created returns every user exactly once', async (t) => {
    const before = new Set<string>()
    let cursor: string | null = null
    const createdDuringWalk: string[] = []
    do {
      const page: { data: Array<{ id: string }>, next_cursor: string | null } =
        (await api.get(`/v1/users?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`)).body
      for (const user of page.data) {
        t.notOk(before.has(user.id), `${user.id} seen once`)
        before.add(user.id)
      }
      if (createdDuringWalk.length < 6) createdDuringWalk.push(...await createUsers(api, 2))
      cursor = page.next_cursor
    } while (cursor !== null)
    for (const id of [...ids, ...createdDuringWalk]) t.ok(before.has(id), `${id} was listed`)
  })
})

forEachDatabase(t, async (t, database) => {
  const { app, admin: api } = await buildTestApp(t, await database.create(t))
  const TAG = 'sortable'
  // Equal names, and emails told apart only by a digit and typed in upper case (they are
  // stored, and sorted, in lower case): the tie-breaker and the stored form decide the
  // order. All of one case and one shape, so that any collation agrees with this test.
  const NAMES = ['kilo', 'echo', 'kilo', 'alpha', 'echo', 'kilo', 'alpha', 'bravo', 'kilo']
  const created = await Promise.all(NAMES.map(async (name, index) =>
    (await api.post('/v1/users', newUser({ name: `${name} ${TAG}`, email: `${name.toUpperCase()}.${index}.${TAG}@Example.com` }))).body as Listed))
  // Quick succession may give equal timestamps; some are made certain to.
  await app.db.update(users).set({ createdAt: new Date(created[0]!.created_at) }).where(inArray(users.id, idsOf(created.slice(1, 5))))
  const tagged: Listed[] = (await api.get(`/v1/users?limit=100&q=${TAG}`)).body.data

  t.test('the test data has ties in every key', async (t) => {
    t.equal(tagged.length, NAMES.length)
    t.ok(new Set(tagged.map((user) => user.created_at)).size <= NAMES.length - 4, 'created_at')
    t.equal(new Set(tagged.map((user) => user.name)).size, 4, 'name')
    t.ok(tagged.every((user) => user.email === user.email.toLowerCase()), 'emails stored lower-cased')
  })

  t.test('every sort, walked two at a time, lists each user exactly once in its order, ties by id', async (t) => {
    for (const sort of SORTS) {
      const listed = await walk(t, api, `/v1/users?limit=2&q=${TAG}&sort=${sort}`)
      t.same(idsOf(listed), idsOf(inSortOrder(tagged, sort)), `${sort}: the tagged users`)
      const everyone = await walk(t, api, `/v1/users?limit=3&sort=${sort}`)
      const onePage = (await api.get(`/v1/users?limit=100&sort=${sort}`)).body.data
      t.same(idsOf(everyone), idsOf(onePage), `${sort}: all users, as one page lists them`)
    }
  })

  t.test('users created during a walk: nobody listed twice, nobody who was there missed', async (t) => {
    for (const sort of SORTS) {
      const before = idsOf((await api.get('/v1/users?limit=100')).body.data)
      const createdDuringWalk: string[] = []
      // At either end of every order: some land ahead of the walk, some behind it.
      const listed = await walk(t, api, `/v1/users?limit=3&sort=${sort}`, async () => {
        if (createdDuringWalk.length === 6) return
        const edge = createdDuringWalk.length % 2 === 0 ? 'aaa' : 'zzz'
        const body = newUser({ name: `${edge} new`, email: `${edge}.${sort}.${createdDuringWalk.length}@example.com` })
        createdDuringWalk.push((await api.post('/v1/users', body)).body.id)
      })
      const seen = idsOf(listed)
      t.equal(new Set(seen).size, seen.length, `${sort}: nobody twice`)
      t.same(before.filter((id) => !seen.includes(id)), [], `${sort}: everybody who was there`)
      if (sort === 'created_at') t.same(createdDuringWalk.filter((id) => !seen.includes(id)), [], 'in creation order, the new users come after the walk and are reached')
    }
  })

  t.test('status filters by status', async (t) => {
    const disabled = [tagged[1]!.id, tagged[4]!.id].sort()
    for (const id of disabled) t.equal((await api.patch(`/v1/users/${id}`, { status: 'disabled' })).status, 200)
    const listed = await walk(t, api, `/v1/users?limit=1&q=${TAG}&status=disabled`)
    t.same(idsOf(listed).sort(), disabled)
    t.ok(listed.every((user) => user.status === 'disabled'))
    const active: Listed[] = (await api.get(`/v1/users?limit=100&q=${TAG}&status=active`)).body.data
    t.same(idsOf(active).sort(), idsOf(tagged).filter((id) => !disabled.includes(id)).sort())
  })

  t.test('include_total=true counts every matching user, whatever the cursor and limit', async (t) => {
    const first = await api.get(`/v1/users?limit=2&q=${TAG}&include_total=true`)
    t.equal(first.body.total, NAMES.length)
    const later = await api.get(nextLink(first.headers.link)!)
    t.equal(later.body.total, NAMES.length, 'on a later page too')
    t.equal((await api.get('/v1/users?limit=1&q=kilo&sort=-name&include_total=true')).body.total, 4, 'with another filter and sort')
    const everyone = await api.get('/v1/users?limit=1&include_total=true')
    t.equal(everyone.body.total, (await api.get('/v1/users?limit=100')).body.data.length, 'without filters')
    t.equal((await api.get('/v1/users?email=nobody%40example.com&include_total=true')).body.total, 0)
    t.notOk('total' in (await api.get(`/v1/users?q=${TAG}`)).body, 'no total unless asked for')
    t.notOk('total' in (await api.get(`/v1/users?q=${TAG}&include_total=false`)).body)
  })

  t.test('the Link header keeps the sort, the filters and include_total', async (t) => {
    const response = await api.get(`/v1/users?limit=1&sort=-name&q=${TAG}&role=user&status=active&include_total=true`)
    const link = new URL(nextLink(response.headers.link)!, 'http://localhost')
    t.same(Object.fromEntries(link.searchParams), {
      limit: '1', sort: '-name', q: TAG, role: 'user', status: 'active', include_total: 'true', cursor: response.body.next_cursor
    })
    const next = await api.get(link.pathname + link.search)
    t.equal(next.status, 200)
    t.equal(next.body.total, response.body.total)
  })

  t.test('a cursor is only valid with the sort it was issued for', async (t) => {
    const cursor = (await api.get('/v1/users?limit=2&sort=name')).body.next_cursor
    t.equal((await api.get(`/v1/users?limit=2&sort=name&cursor=${cursor}`)).status, 200)
    for (const other of ['sort=email', 'sort=-name', 'sort=created_at', '']) {
      isCursorProblem(t, await api.get(`/v1/users?limit=2&${other}&cursor=${cursor}`), `a name cursor with ${other || 'no sort'}`)
    }
  })

  t.test('a cursor is only valid with the filters it was issued for', async (t) => {
    const cursor = (await api.get(`/v1/users?limit=1&q=${TAG}&role=user&status=active`)).body.next_cursor
    t.equal((await api.get(`/v1/users?status=active&cursor=${cursor}&role=user&limit=1&q=${TAG}`)).status, 200, 'the same filters in another order')
    const others = [
      'q=kilo&role=user&status=active',
      `q=${TAG}&role=admin&status=active`,
      `q=${TAG}&role=user&status=disabled`,
      `q=${TAG}&role=user`,
      `q=${TAG}&status=active`,
      'role=user&status=active',
      `q=${TAG}&role=user&status=active&email=kilo.0.${TAG}%40example.com`
    ]
    for (const filters of others) isCursorProblem(t, await api.get(`/v1/users?limit=1&${filters}&cursor=${cursor}`), filters)
  })

  t.test('a cursor for an email filter serves any spelling of that email', async (t) => {
    const user = tagged[0]!
    const cursor = encodeCursor({ sort: 'created_at', filters: { email: user.email } }, { key: '0001-01-01T00:00:00.000Z', id: user.id })
    const sameEmail = await api.get(`/v1/users?email=${encodeURIComponent(user.email.toUpperCase())}&cursor=${cursor}`)
    t.equal(sameEmail.status, 200)
    t.same(idsOf(sameEmail.body.data), [user.id])
    isCursorProblem(t, await api.get(`/v1/users?email=${encodeURIComponent(tagged[1]!.email)}&cursor=${cursor}`), 'another email')
  })

  t.test('garbage and tampered cursors are 400s naming cursor', async (t) => {
    const byName = (await api.get('/v1/users?limit=2&sort=name')).body.next_cursor
    const [sort, fingerprint, key, id] = fieldsOf(byName)
    const byTime = (await api.get('/v1/users?limit=2')).body.next_cursor
    const timeFields = fieldsOf(byTime)
    const atTime = (time: unknown): string => forgedFields(timeFields[0], timeFields[1], time, timeFields[3])
    const tampered: Array<[string, string, string]> = [
      ['garbage', 'sort=name', 'not-a-cursor'],
      ['a version 1 cursor', '', forged(`u1:${id}`)],
      ['not JSON', 'sort=name', forged('u2:[')],
      ['an object', 'sort=name', forged(`u2:${JSON.stringify({ sort, fingerprint, key, id })}`)],
      ['a field too few', 'sort=name', forgedFields(sort, fingerprint, key)],
      ['a field too many', 'sort=name', forgedFields(sort, fingerprint, key, id, id)],
      ['a number for the key', 'sort=name', forgedFields(sort, fingerprint, 42, id)],
      ['null for the id', 'sort=name', forgedFields(sort, fingerprint, key, null)],
      ['an id that is no UUID', 'sort=name', forgedFields(sort, fingerprint, key, 'not-a-uuid')],
      ['an id in upper case', 'sort=name', forgedFields(sort, fingerprint, key, id.toUpperCase())],
      ['a name with NUL', 'sort=name', forgedFields(sort, fingerprint, 'a\u0000b', id)],
      ['a forged fingerprint', 'sort=name', forgedFields(sort, 'AAAAAAAAAAAA', key, id)],
      ['a 10 kB name', 'sort=name', forgedFields(sort, fingerprint, 'n'.repeat(10_000), id)],
      ['characters after it', 'sort=name', `${byName}!!`],
      ['a character more', 'sort=name', `${byName}A`],
      ['base64 padding', 'sort=name', `${byName}==`],
      ['invalid UTF-8', 'sort=name', Buffer.concat([Buffer.from('u2:["name","'), Buffer.from([0xff, 0xfe]), Buffer.from('"]')]).toString('base64url')],
      ['a name for a time', '', atTime(key)],
      ['a number for a time', '', atTime(Date.now())],
      ['a day that does not exist', '', atTime('2026-02-30T00:00:00.000Z')],
      ['year 0', '', atTime('0000-01-01T00:00:00.000Z')],
      ['a six-digit year', '', atTime('+010000-01-01T00:00:00.000Z')],
      ['a time without milliseconds', '', atTime('2026-01-01T00:00:00Z')],
      ['a time without a zone', '', atTime('2026-01-01T00:00:00.000')]
    ]
    for (const [what, query, cursor] of tampered) {
      isCursorProblem(t, await api.get(`/v1/users?${query}&cursor=${encodeURIComponent(cursor)}`), what)
    }
    for (const time of ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
      t.equal((await api.get(`/v1/users?cursor=${atTime(time)}`)).status, 200, `${time} is a position, though never issued`)
    }
  })
})
