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

/** Nothing secret in it, so it is queued as it is: it tells the old address where the account went. */
export function emailChangedMail (to: string, newAddress: string): MailMessage {
  return {
    to,
    subject: 'The email address of your account was changed',
    text: [
      `The email address of the account that had this address is now ${newAddress}.`,
      '',
      'If you did not change it, someone else may be using your account: password resets now go to the new address, so ask your administrator to restore yours and end its sessions.'
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
