import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Loop } from '../../src/events/delivery/loop.ts'
import { startDeliveryWorker, type RetryPolicy } from '../../src/events/delivery/worker.ts'
import { MailUnavailableError } from '../../src/common/errors.ts'
import { createMailSender, type MailTransport } from '../../src/events/mail/sender.ts'
import { openMail } from '../../src/events/mail/sealed.ts'
import type { KeyRing } from '../../src/secrets/key-ring.ts'

declare module 'fastify' {
  interface FastifyInstance {
    mail: {
      /** Throws MailUnavailableError when this deployment cannot send mail. */
      assertAvailable (): void
      /** Mail was just recorded: send it now rather than at the next poll. */
      wake (): void
    }
  }
}

export interface MailPluginOptions {
  /** Undefined: no way to send mail (production without SMTP_URL). */
  transport: MailTransport | undefined
  from: string
  /** Opens the queued mails (they are sealed: they carry tokens). */
  secrets: () => Promise<KeyRing>
  retry?: Partial<RetryPolicy>
  pollIntervalMs?: number
  /** How long a claimed mail is this replica's alone; after it (a crash, a lost database mid-send), another retries it. */
  leaseMs?: number
}

const DEFAULT_RETRY: RetryPolicy = { firstRetryMs: 5_000, longestRetryMs: 15 * 60_000, giveUpAfterMs: 24 * 60 * 60_000 }

/**
 * Sends the mails the domain recorded in the deliveries table, from whichever replica
 * claims them first; requests never wait for a mail server.
 */
async function mailPlugin (app: FastifyInstance, { transport, from, secrets, retry, pollIntervalMs = 5_000, leaseMs = 60_000 }: MailPluginOptions): Promise<void> {
  if (transport === undefined) {
    app.decorate('mail', { assertAvailable () { throw new MailUnavailableError() }, wake () {} })
    return
  }
  const sender = createMailSender(transport, from)
  const ring = await secrets()
  let worker: Loop | undefined
  app.decorate('mail', { assertAvailable () {}, wake: () => worker?.wake() })
  app.addHook('onReady', async () => {
    worker = startDeliveryWorker({
      db: app.db,
      channel: 'mail',
      send: (delivery) => sender.send(openMail(ring, delivery.payload), String(delivery.id)),
      retry: { ...DEFAULT_RETRY, ...retry },
      pollIntervalMs,
      leaseMs,
      batchSize: 10,
      log: app.log
    })
  })
  app.addHook('onClose', async () => {
    await worker?.stop()
    sender.close()
  })
}

export default fp(mailPlugin, { name: 'mail', fastify: '5.x', dependencies: ['database'] })
