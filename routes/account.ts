import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { EmailVerificationConfirmation, PasswordResetConfirmation, PasswordResetRequest } from '../schemas/account.ts'
import { emptyResponse } from '../schemas/headers.ts'
import { problemResponses } from '../schemas/problem.ts'
import { refTo } from '../schemas/ref.ts'
import { bearer } from '../schemas/security.ts'
import { UserIdParams } from '../schemas/user.ts'
import { confirmEmailVerification, confirmPasswordReset, requestEmailVerification, requestPasswordReset } from '../src/account/recovery.ts'
import { actorOf } from '../src/http/actor.ts'

const tags = ['account']
const accepted = { 202: emptyResponse('Recorded: the mail goes out shortly') }

/** Credential recovery and address verification, with single-use tokens that travel only by mail. */
const accountRoutes: FastifyPluginAsyncTypebox = async function accountRoutes (app) {
  // Anonymous and token-guessing targets: the stricter per-address bucket of the login.
  const guarded = { rateLimitPolicy: 'login' }

  app.post('/auth/password-reset', {
    config: guarded,
    schema: {
      tags,
      operationId: 'requestPasswordReset',
      summary: 'Mail a password-reset token',
      description: 'Always a 202, for unknown emails too and in the same time, so the answer tells nobody whether an account exists. An active account with this email gets a mail with a token valid for 30 minutes.',
      security: [],
      body: refTo(PasswordResetRequest),
      response: { ...accepted, ...problemResponses(400, 413, 415, 422, 500, 503) }
    }
  }, async (request, reply) => {
    app.mail.assertAvailable()
    await requestPasswordReset(app.domain, request.body.email)
    app.mail.wake()
    return reply.code(202).send()
  })

  app.post('/auth/password-reset/confirm', {
    config: guarded,
    schema: {
      tags,
      operationId: 'confirmPasswordReset',
      summary: 'Set a new password with a mailed reset token',
      description: 'The token works once. Every session of the user ends, and failed-login delays for the email are cleared. A token that is unknown, used, expired, or was mailed to an address the user no longer has is a 400.',
      security: [],
      body: refTo(PasswordResetConfirmation),
      response: { 204: emptyResponse('The password is changed'), ...problemResponses(400, 413, 415, 422, 500, 503) }
    }
  }, async (request, reply) => {
    await confirmPasswordReset(app.domain, actorOf(request), request.body.token, request.body.password)
    return reply.code(204).send()
  })

  app.post('/users/:id/email-verification', {
    schema: {
      tags,
      operationId: 'requestEmailVerification',
      summary: 'Mail a verification token to the user\'s current address',
      description: 'For the user themself or an admin. The token is valid for 24 hours, and only while the user keeps this address.',
      security: bearer,
      params: UserIdParams,
      response: { ...accepted, ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    onRequest: app.authenticate
  }, async (request, reply) => {
    app.mail.assertAvailable()
    await requestEmailVerification(app.domain, actorOf(request), request.params.id)
    app.mail.wake()
    return reply.code(202).send()
  })

  app.post('/auth/email-verification/confirm', {
    config: guarded,
    schema: {
      tags,
      operationId: 'confirmEmailVerification',
      summary: 'Confirm an email address with a mailed verification token',
      description: '`email_verified` becomes true. A token that is unknown, used, expired, or for an address the user no longer has is a 400.',
      security: [],
      body: refTo(EmailVerificationConfirmation),
      response: { 204: emptyResponse('The address is verified'), ...problemResponses(400, 413, 415, 422, 500, 503) }
    }
  }, async (request, reply) => {
    await confirmEmailVerification(app.domain, actorOf(request), request.body.token)
    return reply.code(204).send()
  })
}

export default accountRoutes
