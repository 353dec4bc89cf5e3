import pLimit from 'p-limit'
import type { Database } from '../../db/connect.ts'
import { startLoop, type Loop, type LoopLog } from './loop.ts'
import { claimDeliveries, completeDeliveries, failDelivery, releaseDeliveries, type Channel, type ClaimedDelivery } from './queue.ts'

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
  /** Sends one delivery; throwing (or rejecting) means it was not delivered. `signal` aborts when the worker stops. */
  send (delivery: ClaimedDelivery, signal: AbortSignal): Promise<void>
  retry: RetryPolicy
  /** How often to look for due work without being woken: retries, restarts, other replicas. */
  pollIntervalMs: number
  /** At least twice as long as a send may take, so a live worker never loses its claim mid-send. */
  leaseMs: number
  batchSize: number
  log: LoopLog
  /** Counts outcomes for /metrics. */
  onOutcome?: (outcome: 'delivered' | 'failed' | 'given_up') => void
}

/** Exponential backoff with full jitter (the AWS architecture blog's recommendation). */
export function retryDelayMs (attempts: number, { firstRetryMs, longestRetryMs }: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(longestRetryMs, firstRetryMs * 2 ** Math.min(attempts - 1, 30))
  return Math.max(firstRetryMs, Math.round(ceiling * random()))
}

// How long a stop waits for a send that did not heed the abort (an SMTP conversation) to settle.
const SETTLE_AFTER_STOP_MS = 1_000

/**
 * How a send ended: delivered, failed, or still running a moment after the stop (a sender
 * that cannot be cut short must not hold the stop past the grace period). Such a send keeps
 * its row leased: released, another replica could send it again while it still runs.
 */
async function outcomeOf (send: Promise<void>, stopping: AbortSignal): Promise<{ delivered: true } | { error: unknown } | { running: true }> {
  const settled = send.then(() => ({ delivered: true as const }), (error: unknown) => ({ error }))
  const settleWindow = () => new Promise<{ running: true }>((resolve) => setTimeout(() => resolve({ running: true }), SETTLE_AFTER_STOP_MS).unref())
  if (stopping.aborted) return Promise.race([settled, settleWindow()])
  let onAbort = () => {}
  const stopped = new Promise<void>((resolve) => { onAbort = resolve })
  stopping.addEventListener('abort', onAbort, { once: true })
  try {
    return await Promise.race([settled, stopped.then(settleWindow)])
  } finally {
    // The signal lives as long as the worker: a listener per send would pile up on it.
    stopping.removeEventListener('abort', onAbort)
  }
}

// Sends in flight at once per worker: a receiver sees a bounded number of connections.
const CONCURRENT_SENDS = 32

function describe (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** A claim's deliveries by destination and ordering key, each list oldest first; one without a key is alone. */
function byOrderingKey (claimed: ClaimedDelivery[]): ClaimedDelivery[][] {
  const lists = new Map<string | number, ClaimedDelivery[]>()
  for (const delivery of claimed) {
    const key = delivery.orderingKey === null ? delivery.id : `${delivery.destination} ${delivery.orderingKey}`
    const list = lists.get(key)
    if (list === undefined) lists.set(key, [delivery])
    else list.push(delivery)
  }
  return [...lists.values()]
}

/**
 * Sends the due deliveries of one channel until stopped; survives database outages by
 * waiting them out. Each round claims a batch and sends it: different keys at once, one
 * key's deliveries one after another, the rest of a key's list released (unsent) as soon
 * as one of them fails, the lease would run out before the next could time out, or the
 * worker stops. Each delivered row is deleted as soon as its receiver said so.
 */
export function startDeliveryWorker (options: WorkerOptions): Loop {
  const { db, channel, retry, log } = options
  // A send begun in the first half of the lease ends within it: the lease is at least twice a send's longest.
  const sendTimeMs = options.leaseMs / 2

  /**
   * Resolves to whether it was delivered, recorded at once: a stop, or a crash, right after
   * never sends it again. A failure is recorded with its retry; a send cut short by a stop
   * is released as if never tried, for whichever replica claims it next.
   */
  async function attempt (delivery: ClaimedDelivery, stopping: AbortSignal): Promise<boolean> {
    const outcome = await outcomeOf(options.send(delivery, stopping), stopping)
    if ('running' in outcome) return false
    if ('error' in outcome) {
      const { error } = outcome
      if (stopping.aborted) {
        await releaseDeliveries(db, [delivery.id])
        return false
      }
      const giveUp = Date.now() - delivery.createdAt.getTime() >= retry.giveUpAfterMs
      log.warn({ channel, delivery: delivery.id, attempts: delivery.attempts, giveUp, reason: describe(error) }, 'delivery failed')
      await failDelivery(db, delivery.id, describe(error), giveUp ? { giveUp } : { retryInMs: retryDelayMs(delivery.attempts, retry) })
      options.onOutcome?.(giveUp ? 'given_up' : 'failed')
      return false
    }
    await completeDeliveries(db, [delivery.id])
    options.onOutcome?.('delivered')
    return true
  }

  // After any delivery, more may be due at once: the next of the same user, the rest of a batch.
  return startLoop(`${channel} deliveries`, async (stopping) => {
    const sendBy = Date.now() + sendTimeMs
    const claimed = await claimDeliveries(db, channel, options.batchSize, options.leaseMs)
    const inTurn = pLimit(CONCURRENT_SENDS)
    // Settled, not all: a list whose bookkeeping failed (the database away) must not end
    // the round, and so a stop, while other lists are still sending.
    const lists = await Promise.allSettled(byOrderingKey(claimed).map((list) => inTurn(async () => {
      for (const [index, delivery] of list.entries()) {
        if (stopping.aborted || Date.now() >= sendBy) return releaseDeliveries(db, list.slice(index).map(({ id }) => id))
        if (!await attempt(delivery, stopping)) return releaseDeliveries(db, list.slice(index + 1).map(({ id }) => id))
      }
    })))
    const failed = lists.find((list) => list.status === 'rejected')
    // What it held waits for its lease; the loop logs the round as failed and carries on.
    if (failed !== undefined) throw failed.reason
    return claimed.length > 0
  }, options.pollIntervalMs, log)
}
