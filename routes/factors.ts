import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { CreationOptions, FactorAdded, FactorConfirmation, FactorList, FactorParams, RecoveryCodes, TotpEnrolment, TotpEnrolmentRequest, WebauthnRegistration } from '../schemas/mfa.ts'
import { bearer, bearerOrClient } from '../schemas/security.ts'
import { emptyResponse, jsonResponse } from '../schemas/headers.ts'
import { problemResponses } from '../schemas/problem.ts'
import { refTo } from '../schemas/ref.ts'
import { UserIdParams } from '../schemas/user.ts'
import { actorOf } from '../src/http/actor.ts'
import { confirmTotp, enrolTotp, listFactors, regenerateRecoveryCodes, registerWebauthn, removeFactor, webauthnRegistrationOptions } from '../src/mfa/factors.ts'

const tags = ['factors']
const noStore = { 'Cache-Control': Type.Literal('no-store', { description: 'The body holds secrets shown this once.' }) }

/**
 * A person's second factors: TOTP apps, WebAuthn credentials (security keys, passkeys)
 * and recovery codes. Who may do what (only the user enrols; removing needs aal2 or an
 * admin) is the domain's rule.
 */
const factorsRoutes: FastifyPluginAsyncTypebox = async function factorsRoutes (app) {
  const authenticated = { onRequest: app.authenticate }

  app.get('/users/:id/factors', {
    schema: {
      tags,
      operationId: 'listFactors',
      summary: 'List a user\'s second factors',
      description: 'Confirmed factors only, oldest first, and how many recovery codes are left. For the user themself or an admin.',
      security: bearerOrClient('users:read'),
      params: UserIdParams,
      response: { 200: jsonResponse(FactorList, 'The factors'), ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...authenticated
  }, async (request) => listFactors(app.domain, actorOf(request), request.params.id))

  app.post('/users/:id/factors/totp', {
    schema: {
      tags,
      operationId: 'enrolTotp',
      summary: 'Start enrolling an authenticator app (TOTP)',
      description: 'The user themself only; once they have a factor, with an `aal2` token (else a 401 asking for a step-up). Returns the secret and an `otpauth://` URI, this once; the factor counts once confirmed with a code (POST …/confirm) within 15 minutes. A pending enrolment of the user\'s is replaced.',
      security: bearer,
      params: UserIdParams,
      body: refTo(TotpEnrolmentRequest),
      response: { 201: jsonResponse(TotpEnrolment, 'The pending factor and its secret', noStore), ...problemResponses(400, 401, 403, 404, 413, 415, 422, 500, 503) }
    },
    ...authenticated
  }, async (request, reply) => {
    const enrolment = await enrolTotp(app.domain, actorOf(request), request.params.id, request.body?.name)
    return reply.code(201).header('cache-control', 'no-store').send(enrolment)
  })

  app.post('/users/:id/factors/:factor_id/confirm', {
    schema: {
      tags,
      operationId: 'confirmFactor',
      summary: 'Confirm a TOTP enrolment with a code',
      description: 'The user themself only (with an `aal2` token once they have another factor). With the user\'s first factor, the answer carries their ten recovery codes, this once.',
      security: bearer,
      params: FactorParams,
      body: refTo(FactorConfirmation),
      response: { 200: jsonResponse(FactorAdded, 'Confirmed', noStore), ...problemResponses(400, 401, 403, 404, 413, 415, 422, 500, 503) }
    },
    ...authenticated
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store')
    return confirmTotp(app.domain, actorOf(request), request.params.id, request.params.factor_id, request.body.code)
  })

  app.post('/users/:id/factors/webauthn/options', {
    schema: {
      tags,
      operationId: 'webauthnRegistrationOptions',
      summary: 'Options to register a WebAuthn credential (security key or passkey)',
      description: 'The user themself only; once they have a factor, with an `aal2` token. The challenge is single-use and valid for 5 minutes; the credential is discoverable (a passkey) where the authenticator can.',
      security: bearer,
      params: UserIdParams,
      response: { 200: jsonResponse(CreationOptions, 'For navigator.credentials.create()'), ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...authenticated
  }, async (request) => webauthnRegistrationOptions(app.domain, actorOf(request), request.params.id))

  app.post('/users/:id/factors/webauthn', {
    schema: {
      tags,
      operationId: 'registerWebauthn',
      summary: 'Register the WebAuthn credential the browser created',
      description: 'The user themself only; once they have a factor, with an `aal2` token. A stale, used or foreign challenge, a foreign origin or RP ID, or a bad attestation is a 400 `invalid-code`. With the user\'s first factor, the answer carries their ten recovery codes, this once.',
      security: bearer,
      params: UserIdParams,
      body: refTo(WebauthnRegistration),
      response: { 201: jsonResponse(FactorAdded, 'Registered', noStore), ...problemResponses(400, 401, 403, 404, 413, 415, 422, 500, 503) }
    },
    ...authenticated
  }, async (request, reply) => {
    const added = await registerWebauthn(app.domain, actorOf(request), request.params.id, request.body.name, request.body.credential)
    return reply.code(201).header('cache-control', 'no-store').send(added)
  })

  app.delete('/users/:id/factors/:factor_id', {
    schema: {
      tags,
      operationId: 'deleteFactor',
      summary: 'Remove a second factor',
      description: 'The user themself with an `aal2` token (else a 401 asking for a step-up), or an admin for a user who lost a device: then that user\'s sessions end. Removing the last factor removes the recovery codes.',
      security: bearerOrClient('users:write'),
      params: FactorParams,
      response: { 204: emptyResponse('Removed'), ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...authenticated
  }, async (request, reply) => {
    await removeFactor(app.domain, actorOf(request), request.params.id, request.params.factor_id)
    return reply.code(204).send()
  })

  app.post('/users/:id/recovery-codes', {
    schema: {
      tags,
      operationId: 'regenerateRecoveryCodes',
      summary: 'Replace the recovery codes',
      description: 'The user themself with an `aal2` token. Ten new codes, this once; the old ones stop working.',
      security: bearer,
      params: UserIdParams,
      response: { 200: jsonResponse(RecoveryCodes, 'The new codes', noStore), ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...authenticated
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store')
    return { recovery_codes: await regenerateRecoveryCodes(app.domain, actorOf(request), request.params.id) }
  })
}

export default factorsRoutes
