import type { MailMessage } from './sender.ts'

function minutes (seconds: number): string {
  return seconds >= 3600 ? `${seconds / 3600} hours` : `${seconds / 60} minutes`
}

// Mail lines stay within 76 characters (RFC 5322 §2.1.1 recommends 78): a body of such ASCII
// lines goes out 7bit, as written. A longer line made nodemailer quote the whole body
// (quoted-printable), whose soft line breaks can land anywhere, a token included.
const LINE = 76

function wrapped (paragraph: string): string {
  const lines: string[] = []
  let line = ''
  for (const word of paragraph.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > LINE) {
      lines.push(line)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  return [...lines, line].join('\n')
}

function body (paragraphs: string[]): string {
  return paragraphs.map(wrapped).join('\n')
}

// Plain text: the token must appear verbatim, and nothing in the mail is worth HTML's risks.
export function passwordResetMail (to: string, token: string, ttlSeconds: number): MailMessage {
  return {
    to,
    subject: 'Reset your password',
    text: body([
      'Someone (hopefully you) asked to reset the password of the account with this email address.',
      '',
      'To choose a new password, send this token to POST /v1/auth/password-reset/confirm with your new password:',
      '',
      token,
      '',
      `The token works once and expires in ${minutes(ttlSeconds)}. If you did not ask for this, ignore this mail: your password stays as it is.`
    ])
  }
}

/** Nothing secret in it, so it is queued as it is: it tells the old address where the account went. */
export function emailChangedMail (to: string, newAddress: string): MailMessage {
  return {
    to,
    subject: 'The email address of your account was changed',
    text: body([
      `The email address of the account that had this address is now ${newAddress}.`,
      '',
      'If you did not change it, someone else may be using your account: password resets now go to the new address, so ask your administrator to restore yours and end its sessions.'
    ])
  }
}

export function emailVerificationMail (to: string, token: string, ttlSeconds: number): MailMessage {
  return {
    to,
    subject: 'Verify your email address',
    text: body([
      'To confirm that this address belongs to your account, send this token to POST /v1/auth/email-verification/confirm:',
      '',
      token,
      '',
      `The token works once, expires in ${minutes(ttlSeconds)}, and only for this address.`
    ])
  }
}
