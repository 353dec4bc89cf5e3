/**
 * A database call that took longer than the client allows: the server may be frozen
 * (stopped, swapping, partitioned), which its own statement_timeout cannot catch.
 */
export class QueryDeadlineError extends Error {
  override name = 'QueryDeadlineError'
  readonly code = 'QUERY_DEADLINE'
  constructor (milliseconds: number) {
    super(`The database did not answer within ${milliseconds} ms.`)
  }
}

type Settle = ((value: unknown) => unknown) | null | undefined
type Then = (this: unknown, onFulfilled?: Settle, onRejected?: Settle) => PromiseLike<unknown>

function raced<T> (run: (resolve: (value: T) => void, reject: (error: unknown) => void) => void, milliseconds: number, onExpiry: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new QueryDeadlineError(milliseconds))
      onExpiry()
    }, milliseconds)
    run((value) => { clearTimeout(timer); resolve(value) }, (error) => { clearTimeout(timer); reject(error) })
  })
}

/**
 * Gives a postgres.js query a client-side deadline, counted from when it is awaited
 * (postgres.js sends a query only then): the wait for a pool connection plus the
 * statement. At the deadline the caller gets a QueryDeadlineError and the query is
 * cancelled, if the server can still hear it. The query object stays the same, so
 * drizzle's `.values()` and friends keep working.
 */
export function queryWithDeadline<T extends PromiseLike<unknown>> (pending: T, milliseconds: number): T {
  const target = pending as unknown as { then: Then, cancel?: () => unknown }
  const then = target.then
  target.then = function (onFulfilled, onRejected) {
    const cancel = (): void => {
      // A frozen server does not answer the cancel request either: nobody waits for it.
      Promise.resolve().then(() => target.cancel?.()).catch(() => {})
    }
    return raced((resolve, reject) => { then.call(this, resolve, reject) }, milliseconds, cancel).then(onFulfilled, onRejected)
  }
  return pending
}

/**
 * The same deadline for a whole transaction: `begin(fn)` or `begin(options, fn)` of
 * postgres.js. A transaction whose deadline passed is rolled back, not committed, once the
 * server answers again: its callback then throws, which makes postgres.js send ROLLBACK.
 * Only a transaction whose COMMIT was already sent when the deadline passed may still commit.
 */
export function transactionWithDeadline<T> (begin: (...args: unknown[]) => Promise<T>, args: unknown[], milliseconds: number): Promise<T> {
  let expired = false
  const fn = args.at(-1)
  if (typeof fn !== 'function') return begin(...args)
  const guarded = async (sql: unknown): Promise<unknown> => {
    if (expired) throw new QueryDeadlineError(milliseconds)
    const returned: unknown = fn(sql)
    // postgres.js awaits every query of an array the callback returns.
    const result: unknown = await (Array.isArray(returned) ? Promise.all(returned) : returned)
    if (expired) throw new QueryDeadlineError(milliseconds)
    return result
  }
  return raced((resolve, reject) => { begin(...args.slice(0, -1), guarded).then(resolve, reject) }, milliseconds, () => { expired = true })
}
