import type { Database } from '../db/connect.js'
import { startLoop, type Loop, type LoopLog } from './loop.js'
import { claimDeliveries, completeDelivery, failDelivery, type Channel, type ClaimedDelivery } from './queue.js'

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
  log: LoopLog
  /** Counts outcomes for /metrics. */
  onOutcome?: (outcome: 'delivered' | 'failed' | 'given_up') => void
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
export function startDeliveryWorker (options: WorkerOptions): Loop {
  const { db, channel, retry, log } = options

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

  // After any delivery, more may be due at once: the next of the same user, the rest of a batch.
  return startLoop(`${channel} deliveries`, async () => {
    const claimed = await claimDeliveries(db, channel, options.batchSize, options.leaseMs)
    await Promise.all(claimed.map(settle))
    return claimed.length > 0
  }, options.pollIntervalMs, log)
}
