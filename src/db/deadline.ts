import { AsyncResource } from 'node:async_hooks'

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

export interface Deadlines {
  readonly milliseconds: number
  /**
   * Calls `expire` once the deadline, counted from now, has passed, unless the returned
   * function was called first. Call that when the call settles: it returns whether it
   * did so in time (false once `expire` ran), and false on any later call.
   */
  start (expire: () => void): () => boolean
}

/**
 * Calls with one deadline, checked by one timer rather than a timer set and cleared per
 * call (every statement has a deadline; `npm run bench:statements` shows what that
 * costs). A deadline is noticed within a tenth of itself (at most 250 ms) after it
 * passes. The timer runs only while calls are pending and never keeps the process alive.
 */
export function deadlines (milliseconds: number, now: () => number = () => performance.now()): Deadlines {
  const checkEveryMs = Math.min(250, Math.max(10, Math.floor(milliseconds / 10)))
  // Insertion order is deadline order: every call has the same allowance.
  const pending = new Set<{ due: number, expire: () => void }>()
  let timer: NodeJS.Timeout | undefined

  function check (): void {
    const time = now()
    for (const call of pending) {
      if (call.due > time) break
      pending.delete(call)
      call.expire()
    }
    if (pending.size === 0) {
      clearInterval(timer)
      timer = undefined
    }
  }

  // The timer starts within whichever request makes the first call; the checks, which
  // expire other requests' calls, run in the context these deadlines were made in.
  const checkOutsideRequests = AsyncResource.bind(check)

  return {
    milliseconds,
    start (expire) {
      const call = { due: now() + milliseconds, expire }
      pending.add(call)
      if (timer === undefined) timer = setInterval(checkOutsideRequests, checkEveryMs).unref()
      return () => pending.delete(call)
    }
  }
}

/**
 * The same deadline for a whole transaction: `begin(fn)` or `begin(options, fn)` of
 * postgres.js. A transaction whose deadline passed is rolled back, not committed, once the
 * server answers again: its callback then throws, which makes postgres.js send ROLLBACK.
 * Only a transaction whose COMMIT was already sent when the deadline passed may still commit.
 */
export function transactionWithDeadline<T> (begin: (...args: unknown[]) => Promise<T>, args: unknown[], limit: Deadlines): Promise<T> {
  let expired = false
  const fn = args.at(-1)
  if (typeof fn !== 'function') return begin(...args)
  const guarded = async (sql: unknown): Promise<unknown> => {
    if (expired) throw new QueryDeadlineError(limit.milliseconds)
    const returned: unknown = fn(sql)
    // postgres.js awaits every query of an array the callback returns.
    const result: unknown = await (Array.isArray(returned) ? Promise.all(returned) : returned)
    if (expired) throw new QueryDeadlineError(limit.milliseconds)
    return result
  }
  return new Promise<T>((resolve, reject) => {
    const inTime = limit.start(() => {
      expired = true
      reject(new QueryDeadlineError(limit.milliseconds))
    })
    begin(...args.slice(0, -1), guarded).then(
      (value) => { if (inTime()) resolve(value) },
      (error: unknown) => { if (inTime()) reject(error) }
    )
  })
}
