/** Called when a statement starts; the function it returns is called when it settles. */
export type QueryObserver = (statement: string) => (error?: unknown) => void

export interface QueryObservers {
  add (observer: QueryObserver): void
  /** The observers' finishers for one statement, or undefined when nobody observes. */
  start (statement: string): ((error?: unknown) => void) | undefined
}

export function queryObservers (): QueryObservers {
  const observers: QueryObserver[] = []
  return {
    add: (observer) => { observers.push(observer) },
    start (statement) {
      if (observers.length === 0) return undefined
      const finishers = observers.map((observe) => observe(statement))
      return (error) => { for (const finish of finishers) finish(error) }
    }
  }
}

type Settle = ((value: unknown) => unknown) | null | undefined
type Then = (this: unknown, onFulfilled?: Settle, onRejected?: Settle) => PromiseLike<unknown>

/** Observes a statement that already runs (PGlite's queries start when called). */
export function observePromise<T> (start: () => Promise<T>, statement: string, observers: QueryObservers): Promise<T> {
  const finish = observers.start(statement)
  const pending = start()
  if (finish !== undefined) pending.then(() => finish(), (error: unknown) => finish(error))
  return pending
}

/**
 * Wraps a lazy thenable (postgres.js sends a query only when it is awaited; `await`
 * on such a Promise subclass goes through its own `then`) so observers see when it is awaited (postgres.js runs a query
 * only then) and when it settles, without changing what it resolves to.
 */
export function observeThenable<T extends PromiseLike<unknown>> (pending: T, statement: string, observers: QueryObservers): T {
  const target = pending as unknown as { then: Then }
  const then = target.then
  target.then = function (onFulfilled, onRejected) {
    const finish = observers.start(statement)
    if (finish === undefined) return then.call(this, onFulfilled, onRejected)
    return then.call(this, (value) => {
      finish()
      return typeof onFulfilled === 'function' ? onFulfilled(value) : value
    }, (error) => {
      finish(error)
      if (typeof onRejected !== 'function') throw error
      return onRejected(error)
    })
  }
  return pending
}
