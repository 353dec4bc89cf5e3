import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { freePort } from './ports.ts'

export interface ReceivedMail {
  to: string
  from: string
  subject: string
  text: string
}

export interface SmtpServer {
  url: string
  readonly received: ReceivedMail[]
  /** Stops listening; mail sent meanwhile fails to connect. */
  stop (): Promise<void>
  /** Listens again on the same port. */
  start (): Promise<void>
  /** The mails received so far for this address. */
  mailsTo (address: string): ReceivedMail[]
}

/** A real SMTP server on a loopback port that keeps (parsed) every mail it accepts. */
export async function startSmtpServer (): Promise<SmtpServer> {
  const port = await freePort()
  const received: ReceivedMail[] = []
  let server: SMTPServer | undefined

  async function start (): Promise<void> {
    const listening = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData (stream, _session, callback) {
        simpleParser(stream).then((mail) => {
          received.push({
            to: (Array.isArray(mail.to) ? mail.to[0] : mail.to)?.value[0]?.address ?? '',
            from: mail.from?.value[0]?.address ?? '',
            subject: mail.subject ?? '',
            text: mail.text ?? ''
          })
          callback()
        }, callback)
      }
    })
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject)
      listening.listen(port, '127.0.0.1', () => resolve())
    })
    server = listening
  }

  async function stop (): Promise<void> {
    const closing = server
    server = undefined
    await new Promise<void>((resolve) => closing === undefined ? resolve() : closing.close(() => resolve()))
  }

  await start()
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    start,
    stop,
    mailsTo: (address) => received.filter((mail) => mail.to === address.toLowerCase())
  }
}

/** The token a mail hands out: the line that is nothing but a URL-safe secret. */
export function tokenIn (mail: ReceivedMail): string {
  const token = /^[A-Za-z0-9_-]{32,}$/m.exec(mail.text)?.[0]
  if (token === undefined) throw new Error(`no token in the mail "${mail.subject}"`)
  return token
}
