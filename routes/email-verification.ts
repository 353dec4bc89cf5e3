import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { EmailVerificationConfirmation, mailAccepted } from '../schemas/account.ts'
import { emptyResponse } from '../schemas/headers.ts'
import { problemResponses } from '../schemas/problem.ts'
import { refTo } from '../schemas/ref.ts'
import { bearerOrClient } from '../schemas/security.ts'
import { UserIdParams } from '../schemas/user.ts'
import { confirmEmailVerification, requestEmailVerification } from '../src/account/recovery.ts'
import { actorOf } from '../src/http/actor.ts'

const tags = ['account']
// Anonymous and token-guessing targets: the stricter per-address bucket of the login.
const guarded = { rateLimitPolicy: 'login' }

/** Proving an address: a single-use token mailed to the user's current address. */
const emailVerificationRoutes: FastifyPluginAsyncTypebox = async function emailVerificationRoutes (app) {
  app.post('/users/:id/email-verification', {
    schema: {
      tags,
      operationId: 'requestEmailVerification',
      summary: 'Mail a verification token to the user\'s current address',
      description: 'For the user themself or an admin. The token is valid for 24 hours, and only while the user keeps this address. An address gets at most 3 verification mails an hour: a fourth request is a 429 with `Retry-After`.',
      security: bearerOrClient('users:write'),
      params: UserIdParams,
      response: { ...mailAccepted, ...problemResponses(400, 401, 403, 404, 500, 503) }
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

export default emailVerificationRoutes
