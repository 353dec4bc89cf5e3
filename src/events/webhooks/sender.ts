import { createHmac } from 'node:crypto'
import type { ClaimedDelivery } from '../delivery/queue.ts'

/** Standard Webhooks signing key: `whsec_` and the base64 of 24–64 random bytes. */
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/

export interface WebhookSenderOptions {
  secret: string
  /** A receiver that has not answered by then failed this attempt. */
  timeoutMs: number
}

/**
 * The Standard Webhooks signature: HMAC-SHA256 over "id.timestamp.body" with the decoded
 * secret, base64, versioned `v1,`.
 */
function signature (secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}

/**
 * POSTs a CloudEvent in structured mode to its receiver. A 2xx delivers it; anything
 * else throws with the status only: a receiver's answer body is never read into a log.
 */
export function webhookSender ({ secret, timeoutMs }: WebhookSenderOptions): (delivery: ClaimedDelivery, stopping: AbortSignal) => Promise<void> {
  return async (delivery, stopping) => {
    const event = delivery.payload as { id: string }
    const body = JSON.stringify(event)
    const timestamp = Math.floor(Date.now() / 1000)
    const response = await fetch(delivery.destination, {
      method: 'POST',
      headers: {
        'content-type': 'application/cloudevents+json',
        'webhook-id': event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature(secret, event.id, timestamp, body)
      },
      body,
      // A redirect is an answer, not a delivery: following it could send the event elsewhere.
      redirect: 'manual',
      signal: AbortSignal.any([stopping, AbortSignal.timeout(timeoutMs)])
    })
    await response.body?.cancel()
    if (!response.ok) throw new Error(`the receiver answered ${response.status}`)
  }
}
