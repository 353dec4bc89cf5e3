import t from 'tap'
import type { Api } from './helpers/app.js'
import { buildTestApp, newUser } from './helpers/app.js'
import { forEachDatabase } from './helpers/databases.js'

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

  t.test('pages follow ids in order, with next_cursor and a Link header that agree', async (t) => {
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
        t.equal(link, `/v1/users?limit=3&cursor=${response.body.next_cursor}`)
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
    t.match(link, /^\/v1\/users\?limit=2&q=even&cursor=/)
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
    [`q=${'x'.repeat(101)}`, 'q']
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
