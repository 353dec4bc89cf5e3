import t from 'tap'
import { deadlines, QueryDeadlineError, transactionWithDeadline } from '../../src/db/deadline.ts'
import { queryObservers } from '../../src/db/observe.ts'
import { superviseQuery } from '../../src/db/supervised-query.ts'
import { until } from '../helpers/wait.ts'

// The deadlines' own timer runs on real time; their clock is injected, so a deadline passes when a test says so.
// Their timer does not keep the process alive: the tests wait by polling, whose timers do.
function deadlinesWithClock (milliseconds: number) {
  let now = 0
  return { limit: deadlines(milliseconds, () => now), advance: (ms: number) => { now += ms } }
}

const WAIT_MS = 10_000

t.test('a call past its deadline expires once; one settled in time never does', async (t) => {
  const { limit, advance } = deadlinesWithClock(100)
  const expired: string[] = []
  const settleFirst = limit.start(() => expired.push('first'))
  const settleSecond = limit.start(() => expired.push('second'))
  t.equal(settleFirst(), true, 'settled in time')
  advance(100)
  await until(async () => expired, (list) => list.length > 0, WAIT_MS)
  t.same(expired, ['second'], 'only the call still pending expired')
  t.equal(settleSecond(), false, 'settling after the deadline says it came too late')
  t.equal(settleSecond(), false, 'and keeps saying so')
  // The check that expired the last pending call stopped the timer: a new call starts it again.
  limit.start(() => expired.push('third'))
  advance(100)
  await until(async () => expired, (list) => list.length > 1, WAIT_MS)
  t.same(expired, ['second', 'third'], 'each expired once, and deadlines still pass after an idle spell')
})

t.test('calls started later get their own deadline', async (t) => {
  const { limit, advance } = deadlinesWithClock(100)
  const expired: string[] = []
  limit.start(() => expired.push('early'))
  advance(50)
  const settleLate = limit.start(() => expired.push('late'))
  advance(50)
  await until(async () => expired, (list) => list.length > 0, WAIT_MS)
  t.same(expired, ['early'])
  t.equal(settleLate(), true, 'the later one still had 50 ms')
})

/** A lazy thenable like a postgres.js query: it runs when `then` is called; 'late' answers when told to. */
function fakeQuery (answer: 'value' | 'error' | 'late') {
  let answerLate: (() => void) | undefined
  const query = {
    cancelled: false,
    cancel () { query.cancelled = true },
    answer: () => answerLate?.(),
    then<A = unknown, B = never> (onFulfilled?: ((value: unknown) => A | PromiseLike<A>) | null, onRejected?: ((error: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
      if (answer === 'value') return Promise.resolve('rows').then(onFulfilled, onRejected)
      if (answer === 'error') return Promise.reject(new Error('syntax error')).then(onFulfilled, onRejected)
      return new Promise<unknown>((resolve) => { answerLate = () => resolve('late rows') }).then(onFulfilled, onRejected)
    }
  }
  return query
}

function recordingObservers () {
  const observers = queryObservers()
  const seen: Array<{ statement: string, outcome?: unknown, finished: number }> = []
  observers.add((statement) => {
    const entry: { statement: string, outcome?: unknown, finished: number } = { statement, finished: 0 }
    seen.push(entry)
    return (error) => {
      entry.outcome = error ?? 'ok'
      entry.finished += 1
    }
  })
  return { observers, seen }
}

t.test('a supervised query answers as the query does, and observers see it settle', async (t) => {
  const { limit, advance } = deadlinesWithClock(100)
  const { observers, seen } = recordingObservers()
  const inTime = fakeQuery('value')
  t.equal(await superviseQuery(inTime, 'select 1', observers, limit), 'rows')
  await t.rejects(async () => await superviseQuery(fakeQuery('error'), 'select 2', observers, limit), { message: 'syntax error' })
  t.same(seen.map(({ statement }) => statement), ['select 1', 'select 2'])
  t.equal(seen[0]!.outcome, 'ok')
  t.match(seen[1]!.outcome, { message: 'syntax error' })
  // Past their deadlines, a call started after them expires; had they stayed pending, they would have first.
  const expired: string[] = []
  limit.start(() => expired.push('later call'))
  advance(100)
  await until(async () => expired, (list) => list.length > 0, WAIT_MS)
  t.same(seen.map(({ finished }) => finished), [1, 1], 'each observed to its end once, and not expired after')
  t.equal(inTime.cancelled, false, 'a query that answered is never cancelled')
  t.equal(await superviseQuery(fakeQuery('value'), 'select 3', queryObservers(), undefined), 'rows', 'unobserved and without a deadline')
})

t.test('a query that answers too late fails at its deadline, is cancelled, and its answer is dropped', async (t) => {
  const { limit, advance } = deadlinesWithClock(100)
  const { observers, seen } = recordingObservers()
  const query = fakeQuery('late')
  let error: unknown
  Promise.resolve(superviseQuery(query, 'select pg_sleep(1000)', observers, limit)).catch((caught: unknown) => { error = caught })
  // The deadline counts from the await, which calls `then` a microtask later.
  await until(async () => seen.length, (started) => started > 0, WAIT_MS)
  advance(100)
  await until(async () => error, (value) => value !== undefined, WAIT_MS)
  t.type(error, QueryDeadlineError)
  t.equal((error as QueryDeadlineError).code, 'QUERY_DEADLINE')
  t.type(seen[0]!.outcome, QueryDeadlineError, 'observers see the deadline error')
  t.equal((await until(async () => query.cancelled, (cancelled) => cancelled, WAIT_MS)), true, 'the query is cancelled')
  query.answer()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(seen[0]!.finished, 1, 'the late answer is not observed again')
  t.type(error, QueryDeadlineError, 'nor does it change what the caller got')
})

t.test('a transaction past its deadline fails, and its callback refuses to go on', async (t) => {
  const { limit, advance } = deadlinesWithClock(100)
  let resumeCallback: (() => void) | undefined
  const callbackRan = new Promise<void>((resolve) => { resumeCallback = resolve })
  let finished: unknown
  // A begin() that calls back only when told to, as when the server froze before BEGIN answered.
  const begin = async (...args: unknown[]) => {
    await callbackRan
    return (args.at(-1) as (sql: unknown) => Promise<unknown>)('sql').then((value) => { finished = value; return value }, (error: unknown) => { finished = error; throw error })
  }
  let outcome: unknown
  transactionWithDeadline(begin, [async () => 'committed'], limit).catch((error: unknown) => { outcome = error })
  advance(100)
  t.type(await until(async () => outcome, (value) => value !== undefined, WAIT_MS), QueryDeadlineError)
  resumeCallback!()
  await until(async () => finished, (value) => value !== undefined, WAIT_MS)
  t.type(finished, QueryDeadlineError, 'the callback throws, so postgres.js rolls back')
  t.equal(await transactionWithDeadline(async (...args: unknown[]) => (args.at(-1) as () => Promise<unknown>)(), [async () => 'committed'], limit), 'committed', 'one in time commits')
})
