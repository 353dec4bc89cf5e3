import t from 'tap'
import { buildTestApp, newUser, type ApiResponse } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

function countStatuses (statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1
  return counts
}

forEachDatabase(t, async (t, database) => {
  const testApp = await buildTestApp(t, await database.create(t))
  const api = await testApp.api.overHttp()
  const admin = await testApp.admin.overHttp()

  t.test('50 simultaneous sign-ups with one email: exactly one 201, the rest 409', async (t) => {
    const body = newUser()
    const responses = await Promise.all(Array.from({ length: 50 }, (_, index) =>
      api.post('/v1/users', { ...body, name: `Racer ${index}` })))
    t.same(countStatuses(responses.map((response) => response.status)), { 201: 1, 409: 49 })
    t.equal((await admin.get(`/v1/users?email=${encodeURIComponent(String(body.email))}`)).body.data.length, 1)
  })

  t.test('two simultaneous PATCHes with the same If-Match: one 200, one 412', async (t) => {
    for (let round = 0; round < 10; round += 1) {
      const created = (await admin.post('/v1/users', newUser())).body
      const path = `/v1/users/${created.id}`
      const [first, second] = await Promise.all([
        admin.patch(path, { name: 'Writer A' }, { 'if-match': '"1"' }),
        admin.patch(path, { name: 'Writer B' }, { 'if-match': '"1"' })
      ])
      t.same([first!.status, second!.status].sort(), [200, 412], `round ${round}`)
      const winner = first!.status === 200 ? first! : second!
      const current = await admin.get(path)
      t.equal(current.body.name, winner.body.name, 'the winner\'s write is the one kept')
      t.equal(current.headers.etag, '"2"', 'exactly one write happened')
    }
  })

  t.test('a deletion racing an update never resurrects the user', async (t) => {
    for (let round = 0; round < 10; round += 1) {
      const created = (await admin.post('/v1/users', newUser())).body
      const path = `/v1/users/${created.id}`
      const [update, deletion] = await Promise.all([admin.patch(path, { name: 'Still here?' }), admin.delete(path)])
      t.equal(deletion!.status, 204)
      t.ok([200, 404].includes(update!.status), `the update either ran first or found nothing (${update!.status})`)
      t.equal((await admin.get(path)).status, 404, 'gone for good')
    }
  })

  t.test('walking pages while users are created and deleted returns each surviving user exactly once', async (t) => {
    const stable = new Set<string>()
    for (let index = 0; index < 30; index += 1) stable.add((await admin.post('/v1/users', newUser())).body.id)
    const doomed: string[] = []
    for (let index = 0; index < 10; index += 1) doomed.push((await admin.post('/v1/users', newUser())).body.id)

    const seen = new Map<string, number>()
    let cursor: string | null = null
    let page = 0
    do {
      const query: string = `/v1/users?limit=5${cursor === null ? '' : `&cursor=${cursor}`}`
      const [listed]: [ApiResponse, ...unknown[]] = await Promise.all([
        admin.get(query),
        admin.post('/v1/users', newUser()),
        doomed[page] === undefined ? Promise.resolve() : admin.delete(`/v1/users/${doomed[page]}`)
      ])
      for (const user of listed.body.data as Array<{ id: string }>) seen.set(user.id, (seen.get(user.id) ?? 0) + 1)
      cursor = listed.body.next_cursor
      page += 1
    } while (cursor !== null)
    t.same([...seen.values()].filter((count) => count > 1), [], 'nobody is listed twice')
    t.same([...stable].filter((id) => !seen.has(id)), [], 'every user that existed throughout is listed')
  })
})
