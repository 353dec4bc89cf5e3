import type { MailMessage } from './sender.ts'

function minutes (seconds: number): string {
  return seconds >= 3600 ? `${seconds / 3600} hours` : `${seconds / 60} minutes`
}

// Plain text: the token must appear verbatim, and nothing in the mail is worth HTML's risks.
export function passwordResetMail (to: string, token: string, ttlSeconds: number): MailMessage {
  return {
    to,
    subject: 'Reset your password',
    text: [
      'Someone (hopefully you) asked to reset the password of the account with this email address.',
      '',
      'To choose a new password, send this token to POST /v1/auth/password-reset/confirm with your new password:',
      '',
      token,
      '',
      `The token works once and expires in ${minutes(ttlSeconds)}. If you did not ask for this, ignore this mail: your password stays as it is.`
    ].join('\n')
  }
}

export function emailVerificationMail (to: string, token: string, ttlSeconds: number): MailMessage {
  return {
    to,
    subject: 'Verify your email address',
    text: [
      'To confirm that this address belongs to your account, send this token to POST /v1/auth/email-verification/confirm:',
      '',
      token,
      '',
      `The token works once, expires in ${minutes(ttlSeconds)}, and only for this address.`
    ].join('\n')
  }
}
