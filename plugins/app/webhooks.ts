import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { startLoop, type Loop } from '../../src/events/delivery/loop.ts'
import { startDeliveryWorker, type RetryPolicy } from '../../src/events/delivery/worker.ts'
import { EVENTS_RECORDED_CHANNEL } from '../../src/events/outbox.ts'
import { ensureWebhookCursor, fanOutEvents } from '../../src/events/webhooks/fan-out.ts'
import { webhookSender } from '../../src/events/webhooks/sender.ts'

export interface WebhooksPluginOptions {
  /** Undefined: no webhooks (the feed still records every event). */
  receivers: { urls: string[], secret: string } | undefined
  retry?: Partial<RetryPolicy>
  pollIntervalMs?: number
  timeoutMs?: number
  /** How long a claimed delivery is this replica's alone; longer than the timeout. */
  leaseMs?: number
}

// At least 24 hours of retries, the longest wait between two attempts an hour.
const DEFAULT_RETRY: RetryPolicy = { firstRetryMs: 5_000, longestRetryMs: 60 * 60_000, giveUpAfterMs: 25 * 60 * 60_000 }
const FAN_OUT_BATCH = 500

/**
 * Sends every event to every WEBHOOK_URLS receiver: a fan-out loop per receiver turns
 * new events into deliveries (woken by the NOTIFY of each commit that recorded events,
 * on every replica), and a delivery worker sends them, one replica per delivery.
 */
async function webhooksPlugin (app: FastifyInstance, { receivers, retry, pollIntervalMs = 5_000, timeoutMs = 10_000, leaseMs = 60_000 }: WebhooksPluginOptions): Promise<void> {
  if (receivers === undefined) return
  const { urls, secret } = receivers
  const loops: Loop[] = []
  let stopListening: (() => Promise<void>) | undefined
  // Before anything else of this start-up writes events (the bootstrap admin, registered
  // after this plugin): a new receiver's cursor starts below them, so it gets them too.
  for (const url of urls) await ensureWebhookCursor(app.db, url)
  app.addHook('onReady', async () => {
    const worker = startDeliveryWorker({
      db: app.db,
      channel: 'webhook',
      send: webhookSender({ secret, timeoutMs }),
      retry: { ...DEFAULT_RETRY, ...retry },
      pollIntervalMs,
      // Past the timeout with room to spare, so a slow receiver is not sent to twice at once.
      leaseMs: Math.max(leaseMs, 2 * timeoutMs),
      batchSize: 500,
      log: app.log
    })
    const fanOuts = urls.map((url) => startLoop('webhook fan-out', async () => {
      const count = await fanOutEvents(app.db, url, FAN_OUT_BATCH)
      if (count > 0) worker.wake()
      return count === FAN_OUT_BATCH
    }, pollIntervalMs, app.log))
    loops.push(worker, ...fanOuts)
    stopListening = await app.database.listen(EVENTS_RECORDED_CHANNEL, () => {
      for (const fanOut of fanOuts) fanOut.wake()
    }, () => {})
  })
  app.addHook('onClose', async () => {
    await Promise.all(loops.map((loop) => loop.stop()))
    // Closing without a database (an outage): there is nothing left to stop listening on.
    await stopListening?.().catch((error: unknown) => app.log.warn({ err: error }, 'could not stop listening for events'))
  })
}

export default fp(webhooksPlugin, { name: 'webhooks', fastify: '5.x', dependencies: ['database'] })
