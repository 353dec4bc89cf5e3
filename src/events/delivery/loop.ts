import { setMaxListeners } from 'node:events'

export interface LoopLog {
  warn (details: Record<string, unknown>, message: string): void
}

export interface Loop {
  /** Runs a round now rather than at the next poll. */
  wake (): void
  /** Tells the round in progress to stop (its signal aborts), waits for it, and stops. */
  stop (): Promise<void>
}

/**
 * Runs `round` again and again: at once while it reports more work, else after
 * `pollIntervalMs` or a wake(). A failing round (the database away) is logged and
 * retried at the next poll: what it was working on is still in the database. The
 * round's signal aborts at stop(): a long round (sends to a slow receiver) starts
 * nothing more and lets go of what it holds.
 */
export function startLoop (name: string, round: (stopping: AbortSignal) => Promise<boolean>, pollIntervalMs: number, log: LoopLog): Loop {
  // An object, not local flags: the loop reads them after awaits in which wake() or stop() may have set them.
  const state = { stopped: false, woken: false }
  const stopping = new AbortController()
  // Every send in flight listens to it (32 at once, see worker.ts): no leak, as Node would otherwise warn past 10.
  setMaxListeners(64, stopping.signal)
  let wakeUp: (() => void) | undefined
  let timer: NodeJS.Timeout | undefined

  function pause (): Promise<void> {
    return new Promise((resolve) => {
      if (state.woken || state.stopped) return resolve()
      wakeUp = resolve
      timer = setTimeout(resolve, pollIntervalMs)
      timer.unref()
    })
  }

  async function run (): Promise<void> {
    while (!state.stopped) {
      state.woken = false
      let more = false
      try {
        more = await round(stopping.signal)
      } catch (error) {
        log.warn({ loop: name, reason: error instanceof Error ? error.message : String(error) }, 'background round failed; retrying')
      }
      if (!more && !state.stopped) await pause()
      clearTimeout(timer)
      wakeUp = undefined
    }
  }

  const running = run()
  return {
    wake () {
      state.woken = true
      wakeUp?.()
    },
    async stop () {
      state.stopped = true
      stopping.abort()
      wakeUp?.()
      await running
    }
  }
}
