/**
 * Called when a statement starts; the function it returns is called when it settles.
 * Neither may throw: they run in the database client's callbacks and timers.
 */
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

/** Observes a statement that already runs (PGlite's queries start when called). */
export function observePromise<T> (start: () => Promise<T>, statement: string, observers: QueryObservers): Promise<T> {
  const finish = observers.start(statement)
  const pending = start()
  if (finish !== undefined) pending.then(() => finish(), (error: unknown) => finish(error))
  return pending
}
