import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { PasswordResetConfirmation, PasswordResetRequest, mailAccepted } from '../schemas/account.ts'
import { emptyResponse } from '../schemas/headers.ts'
import { problemResponses } from '../schemas/problem.ts'
import { refTo } from '../schemas/ref.ts'
import { confirmPasswordReset, requestPasswordReset } from '../src/account/recovery.ts'
import { actorOf } from '../src/http/actor.ts'

const tags = ['account']
// Anonymous and token-guessing targets: the stricter per-address bucket of the login.
const guarded = { rateLimitPolicy: 'login' }

/** A forgotten password: a single-use token that travels only by mail, then a new password. */
const passwordResetRoutes: FastifyPluginAsyncTypebox = async function passwordResetRoutes (app) {
  app.post('/auth/password-reset', {
    config: guarded,
    schema: {
      tags,
      operationId: 'requestPasswordReset',
      summary: 'Mail a password-reset token',
      description: 'Always a 202, for unknown emails too and in the same time, so the answer tells nobody whether an account exists. An active account with this email gets a mail with a token valid for 30 minutes, at most 3 such mails an hour: further requests answer the same 202 and send nothing.',
      security: [],
      body: refTo(PasswordResetRequest),
      response: { ...mailAccepted, ...problemResponses(400, 413, 415, 422, 500, 503) }
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
}

export default passwordResetRoutes
