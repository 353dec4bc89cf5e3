import t from 'tap'
import { buildTestApp, type TestApp } from '../helpers/app.ts'
import { forEachDatabase, testDatabases } from '../helpers/databases.ts'

const RIGHT = 'correct horse battery'
const WRONG = 'not the password at all'

/** A clock the test moves: delays pass without sleeping. */
function manualClock () {
  let now = Date.parse('2026-11-30T12:00:00.000Z')
  return { now: () => now, advance: (seconds: number) => { now += seconds * 1000 } }
}

async function attempt (testApp: TestApp, email: string, password: string, remoteAddress = '127.0.0.1') {
  const response = await testApp.app.inject({ method: 'POST', url: '/v1/auth/token', payload: { email, password }, remoteAddress })
  return { status: response.statusCode, retryAfter: response.headers['retry-after'], body: response.json() }
}

forEachDatabase(t, async (t, database) => {
  const clock = manualClock()
  const testApp = await buildTestApp(t, await database.create(t), { LOGIN_MAX_FAILURES: '3' }, { clock: clock.now })

  t.test('after LOGIN_MAX_FAILURES failures, a doubling delay for right and wrong passwords; a success clears it', async (t) => {
    const { user } = await testApp.signUp()
    for (let failure = 1; failure <= 3; failure += 1) {
      t.equal((await attempt(testApp, user.email, WRONG)).status, 401, `failure ${failure}: 401`)
    }
    const delayed = await attempt(testApp, user.email, RIGHT)
    t.equal(delayed.status, 429, 'the right password is refused during the delay')
    t.equal(delayed.retryAfter, '1', 'the first delay is 1 s')
    t.match(delayed.body, { type: '/problems/login-delayed', status: 429 })
    clock.advance(1)
    t.equal((await attempt(testApp, user.email, WRONG)).status, 401, 'after the delay a wrong password is a failure again')
    t.equal((await attempt(testApp, user.email, WRONG)).retryAfter, '2', 'the delay doubles')
    clock.advance(2)
    t.equal((await attempt(testApp, user.email, WRONG)).status, 401)
    t.equal((await attempt(testApp, user.email.toUpperCase(), RIGHT)).retryAfter, '4', 'the same email in another case counts too')
    clock.advance(4)
    t.equal((await attempt(testApp, user.email, RIGHT)).status, 200, 'the right password after the delay logs in')
    t.equal((await attempt(testApp, user.email, WRONG)).status, 401, 'and the count starts again')
    t.equal((await attempt(testApp, user.email, RIGHT)).status, 200, 'below the limit, no delay')
  })

  t.test('an unknown email is delayed exactly like a known one', async (t) => {
    const unknown = `nobody.${Date.now()}@example.com`
    const { user } = await testApp.signUp()
    const answers = []
    for (const email of [unknown, user.email]) {
      const statuses = []
      for (let failure = 1; failure <= 4; failure += 1) statuses.push((await attempt(testApp, email, WRONG)).status)
      const delayed = await attempt(testApp, email, WRONG)
      answers.push({ statuses, retryAfter: delayed.retryAfter, type: delayed.body.type })
    }
    t.same(answers[0], answers[1], 'the same answers, so a delay tells nothing about the account')
    t.same(answers[0]!.statuses, [401, 401, 401, 429])
  })

  t.test('the longest delay is 15 minutes', async (t) => {
    const { user } = await testApp.signUp()
    for (let failure = 1; failure <= 30; failure += 1) {
      await attempt(testApp, user.email, WRONG)
      clock.advance(15 * 60)
    }
    t.equal((await attempt(testApp, user.email, WRONG)).status, 401)
    t.equal((await attempt(testApp, user.email, WRONG)).retryAfter, String(15 * 60))
  })

  t.test('50 concurrent wrong logins for one email from 50 addresses all count; the right password is then refused', async (t) => {
    const { user } = await testApp.signUp()
    const results = await Promise.all(Array.from({ length: 50 }, (_, index) => attempt(testApp, user.email, WRONG, `10.0.${Math.floor(index / 250)}.${index % 250 + 1}`)))
    t.ok(results.every((result) => result.status === 401 || result.status === 429), 'each is refused')
    const delayed = await attempt(testApp, user.email, RIGHT, '10.9.9.9')
    t.equal(delayed.status, 429, 'the right password from a new address is refused')
    t.ok(Number(delayed.retryAfter) >= 1 && Number(delayed.retryAfter) <= 900, `Retry-After ${String(delayed.retryAfter)} within 1 s … 15 min`)
  })

  t.test('a disabled account\'s right password is a 403 and does not count as a failure', async (t) => {
    const { user } = await testApp.signUp()
    await testApp.admin.patch(`/v1/users/${user.id}`, { status: 'disabled' })
    for (let attempts = 1; attempts <= 4; attempts += 1) {
      t.equal((await attempt(testApp, user.email, RIGHT)).status, 403)
    }
  })
})

t.test('replicas on one PostgreSQL count the same failures', { skip: testDatabases.find((database) => database.name === 'postgres')!.unavailable }, async (t) => {
  const postgres = testDatabases.find((database) => database.name === 'postgres')!
  const settings = await postgres.create(t)
  const clock = manualClock()
  const replicaA = await buildTestApp(t, settings, { LOGIN_MAX_FAILURES: '2' }, { clock: clock.now })
  const replicaB = await buildTestApp(t, settings, { LOGIN_MAX_FAILURES: '2' }, { clock: clock.now })
  const { user } = await replicaA.signUp()
  t.equal((await attempt(replicaA, user.email, WRONG)).status, 401, 'a failure on A')
  t.equal((await attempt(replicaB, user.email, WRONG)).status, 401, 'a failure on B')
  t.equal((await attempt(replicaA, user.email, RIGHT)).status, 429, 'A counts B\'s failure')
  t.equal((await attempt(replicaB, user.email, RIGHT)).status, 429, 'and so does B')
})
