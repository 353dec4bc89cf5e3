import { QueryDeadlineError, type Deadlines } from './deadline.ts'
import type { QueryObservers } from './observe.ts'

type Settle = ((value: unknown) => unknown) | null | undefined
type Then = (this: unknown, onFulfilled?: Settle, onRejected?: Settle) => PromiseLike<unknown>

/**
 * Supervises a postgres.js query, a lazy thenable: postgres.js sends it only when it is
 * awaited, and `await` on such a Promise subclass goes through its own `then`. From then
 * on the observers see it start and settle, and, given a deadline (counted from the
 * await, so the wait for a pool connection is included), the caller gets a
 * QueryDeadlineError when it passes and the query is cancelled, if the server can still
 * hear it. The query object stays the same, so drizzle's `.values()` and friends keep
 * working. Both happen in one wrapper: each layer around a statement cost CPU per request.
 */
export function superviseQuery<T extends PromiseLike<unknown>> (pending: T, statement: string, observers: QueryObservers, limit: Deadlines | undefined): T {
  const target = pending as unknown as { then: Then, cancel?: () => unknown }
  const then = target.then
  target.then = function (onFulfilled, onRejected) {
    const finish = observers.start(statement)
    if (limit === undefined && finish === undefined) return then.call(this, onFulfilled, onRejected)
    return new Promise((resolve, reject) => {
      // The caller is answered before the observers hear of it: whatever they do, it never waits on them.
      const inTime = limit?.start(() => {
        const error = new QueryDeadlineError(limit.milliseconds)
        reject(error)
        finish?.(error)
        // A frozen server does not answer the cancel request either: nobody waits for it.
        Promise.resolve().then(() => target.cancel?.()).catch(() => {})
      })
      then.call(this, (value) => {
        if (inTime?.() === false) return
        resolve(value)
        finish?.()
      }, (error: unknown) => {
        if (inTime?.() === false) return
        reject(error)
        finish?.(error)
      })
    }).then(onFulfilled, onRejected)
  }
  return pending
}
