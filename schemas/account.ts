import Type from 'typebox'
import { emptyResponse } from './headers.ts'
import { Email, Password } from './user.ts'

// Loose on purpose: a token of the wrong shape is an invalid token (400), like a wrong one.
const MailedToken = Type.String({ minLength: 1, maxLength: 512, writeOnly: true, description: 'The token from the mail, verbatim.' })

const EXAMPLE_TOKEN = 'Xb3Jx9kq0yqkS0mF2Qf1sTtq2W4dO7lY8cN5vR6pZ1A'

export const PasswordResetRequest = Type.Object({
  email: Email
}, { $id: 'PasswordResetRequest', additionalProperties: false, examples: [{ email: 'ada@example.com' }] })

export const PasswordResetConfirmation = Type.Object({
  token: MailedToken,
  password: Password
}, { $id: 'PasswordResetConfirmation', additionalProperties: false, examples: [{ token: EXAMPLE_TOKEN, password: 'a new passphrase 42' }] })

export const EmailVerificationConfirmation = Type.Object({
  token: MailedToken
}, { $id: 'EmailVerificationConfirmation', additionalProperties: false, examples: [{ token: EXAMPLE_TOKEN }] })

/** What a request for a mail answers: the mail is an outbox row, sent shortly after. */
export const mailAccepted = { 202: emptyResponse('Recorded: the mail goes out shortly') }
