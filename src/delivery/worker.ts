import type { Database } from '../db/connect.js'
import { claimDeliveries, completeDelivery, failDelivery, type Channel, type ClaimedDelivery } from './queue.js'

export interface DeliveryLog {
  warn (details: Record<string, unknown>, message: string): void
}

export interface RetryPolicy {
  /** The wait after the first failure; each further one doubles it, with jitter. */
  firstRetryMs: number
  longestRetryMs: number
  /** After this long since it was written, a failing delivery is given up. */
  giveUpAfterMs: number
}

export interface WorkerOptions {
  db: Database
  channel: Channel
  /** Sends one delivery; throwing (or rejecting) means it was not delivered. */
  send (delivery: ClaimedDelivery): Promise<void>
  retry: RetryPolicy
  /** How often to look for due work without being woken: retries, restarts, other replicas. */
  pollIntervalMs: number
  /** Longer than a send may take, so a live worker never loses its claim mid-send. */
  leaseMs: number
  batchSize: number
  log: DeliveryLog
  /** Counts outcomes for /metrics. */
  onOutcome?: (outcome: 'delivered' | 'failed' | 'given_up') => void
}

export interface DeliveryWorker {
  /** Looks for work now: called after this replica wrote some. */
  wake (): void
  /** Finishes the sends in progress and stops. */
  stop (): Promise<void>
}

/** Exponential backoff with full jitter (the AWS architecture blog's recommendation). */
export function retryDelayMs (attempts: number, { firstRetryMs, longestRetryMs }: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(longestRetryMs, firstRetryMs * 2 ** Math.min(attempts - 1, 30))
  return Math.max(firstRetryMs, Math.round(ceiling * random()))
}

function describe (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Sends the due deliveries of one channel until stopped; survives database outages by waiting them out. */
export function startDeliveryWorker (options: WorkerOptions): DeliveryWorker {
  const { db, channel, retry, log } = options
  // An object, not a local flag: the loop reads it after awaits in which stop() may have set it.
  const state = { stopped: false, woken: false }
  let wakeUp: (() => void) | undefined
  let timer: NodeJS.Timeout | undefined

  async function settle (delivery: ClaimedDelivery): Promise<void> {
    try {
      await options.send(delivery)
    } catch (error) {
      const giveUp = Date.now() - delivery.createdAt.getTime() >= retry.giveUpAfterMs
      log.warn({ channel, delivery: delivery.id, attempts: delivery.attempts, giveUp, reason: describe(error) }, 'delivery failed')
      await failDelivery(db, delivery.id, describe(error), giveUp ? { giveUp } : { retryInMs: retryDelayMs(delivery.attempts, retry) })
      options.onOutcome?.(giveUp ? 'given_up' : 'failed')
      return
    }
    await completeDelivery(db, delivery.id)
    options.onOutcome?.('delivered')
  }

  /** One round: true when a full batch came back, so more may be due at once. */
  async function round (): Promise<boolean> {
    const claimed = await claimDeliveries(db, channel, options.batchSize, options.leaseMs)
    await Promise.all(claimed.map(settle))
    return claimed.length === options.batchSize
  }

  function pause (): Promise<void> {
    return new Promise((resolve) => {
      if (state.woken || state.stopped) return resolve()
      wakeUp = resolve
      timer = setTimeout(resolve, options.pollIntervalMs)
      timer.unref()
    })
  }

  async function run (): Promise<void> {
    while (!state.stopped) {
      state.woken = false
      let more = false
      try {
        more = await round()
      } catch (error) {
        // The database is away (or the claim failed): the rows are still there for the next round.
        log.warn({ channel, reason: describe(error) }, 'delivery round failed; retrying')
      }
      if (!more) await pause()
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
      wakeUp?.()
      await running
    }
  }
}
