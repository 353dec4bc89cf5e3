import type { KeyRing } from '../../secrets/key-ring.ts'
import type { MailMessage } from './sender.ts'

const CONTEXT = 'deliveries:mail'

/** What a queued mail row holds: the message sealed, since it carries a token that works until used. */
export interface SealedMail {
  sealed: string
}

export function sealMail (ring: KeyRing, mail: MailMessage): SealedMail {
  return { sealed: ring.seal(JSON.stringify(mail), CONTEXT) }
}

/** The message of a queued row; rows queued in clear before mail was sealed still go out. */
export function openMail (ring: KeyRing, payload: unknown): MailMessage {
  const { sealed } = payload as Partial<SealedMail>
  return typeof sealed === 'string' ? JSON.parse(ring.open(sealed, CONTEXT)) as MailMessage : payload as MailMessage
}
