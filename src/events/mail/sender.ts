import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer from 'nodemailer'

/** Over SMTP, or (outside production, without SMTP_URL) as .eml files in a folder. */
export type MailTransport = { kind: 'smtp', url: string } | { kind: 'outbox', directory: string }

export interface MailMessage {
  to: string
  subject: string
  text: string
}

export interface MailSender {
  /** `reference` names the mail where it lands as a file. */
  send (message: MailMessage, reference: string): Promise<void>
  close (): void
}

// Within the worker's lease: a mail server that stops answering fails the attempt, not the worker.
const SMTP_TIMEOUT_MS = 10_000

function smtpSender (url: string, from: string): MailSender {
  const transport = nodemailer.createTransport({ url, connectionTimeout: SMTP_TIMEOUT_MS, greetingTimeout: SMTP_TIMEOUT_MS, socketTimeout: SMTP_TIMEOUT_MS }, { from })
  return {
    async send (message) {
      await transport.sendMail(message)
    },
    close: () => transport.close()
  }
}

function outboxSender (directory: string, from: string): MailSender {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }, { from })
  return {
    async send (message, reference) {
      const { message: raw } = await transport.sendMail(message) as { message: Buffer }
      await mkdir(directory, { recursive: true })
      const file = join(directory, `${new Date().toISOString().replace(/[:.]/g, '-')}-${reference}.eml`)
      // Written aside and renamed, so whoever watches the folder never reads half a mail.
      await writeFile(`${file}.partial`, raw, { mode: 0o600 })
      await rename(`${file}.partial`, file)
    },
    close: () => transport.close()
  }
}

export function createMailSender (transport: MailTransport, from: string): MailSender {
  return transport.kind === 'smtp' ? smtpSender(transport.url, from) : outboxSender(transport.directory, from)
}
