import { createHmac } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendAsyncHookHandler, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import canonicalJson from 'safe-stable-stringify'
import { claimKey, completeKey, deleteExpiredKeys, releaseKey, type KeyIdentity } from '../../src/idempotency/keys.ts'
import { ProblemError } from '../../src/http/problem-error.ts'
import { clientAddress } from '../../src/http/client-address.ts'

export interface IdempotencyOptions {
  /**
   * Key the body fingerprints, so stored fingerprints reveal nothing about passwords:
   * the first writes, any matches (a key rotation does not orphan keys in use).
   */
  secrets: () => Promise<Buffer[]>
  ttlMs: number
  /** A claim older than this whose request never finished was abandoned. */
  abandonedAfterMs: number
  cleanupIntervalMs: number
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Hooks a route attaches to honour the Idempotency-Key header. */
    idempotency: { preHandler: preHandlerAsyncHookHandler, onSend: onSendAsyncHookHandler<unknown> }
  }
  interface FastifyRequest {
    idempotencyClaim: KeyIdentity | undefined
  }
}

const REPLAYED_HEADERS = ['content-type', 'location', 'etag']

/**
 * Kept: successes, and answers that depend on the state at the time (409: the email was
 * taken). Not kept: failures on our side (a retry should run afresh) and refusals that
 * cost nothing to repeat (403, …), so a flood of fresh keys leaves no rows behind.
 */
function worthReplaying (status: number): boolean {
  return status < 400 || status === 409
}

/**
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the first request
 * with a key runs and its response is kept for `ttlMs`; the same key and body
 * replays it, another body is a 422, and a repeat while the first still runs is a 409.
 */
async function idempotencyPlugin (app: FastifyInstance, options: IdempotencyOptions): Promise<void> {
  app.decorateRequest('idempotencyClaim', undefined)
  const secrets = await options.secrets()

  function fingerprints (request: FastifyRequest): string[] {
    const text = `${request.method} ${request.routeOptions.url}\n${canonicalJson(request.body)}`
    return secrets.map((secret) => createHmac('sha256', secret).update(text).digest('base64url'))
  }

  async function preHandler (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const key = request.headers['idempotency-key']
    if (typeof key !== 'string') return
    const identity = { scope: request.principal?.id ?? request.client?.id ?? `ip:${clientAddress(request)}`, key }
    const prints = fingerprints(request)
    const outcome = await claimKey(app.db, identity, { fingerprint: prints[0]!, ttlMs: options.ttlMs, abandonedAfterMs: options.abandonedAfterMs })
    if (outcome.claimed) {
      request.idempotencyClaim = identity
      return
    }
    if (!prints.includes(outcome.fingerprint)) {
      throw new ProblemError('idempotency-key-reused', 'This Idempotency-Key was used for a different request body.')
    }
    if (outcome.response === undefined) {
      throw new ProblemError('idempotency-key-in-flight', 'The first request with this Idempotency-Key has not finished yet; retry shortly.', { headers: { 'retry-after': '1' } })
    }
    await reply.code(outcome.response.statusCode).headers(outcome.response.headers).header('idempotent-replayed', 'true').send(outcome.response.body)
  }

  async function onSend (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const identity = request.idempotencyClaim
    if (identity === undefined) return payload
    request.idempotencyClaim = undefined
    try {
      if (!worthReplaying(reply.statusCode)) {
        await releaseKey(app.db, identity)
      } else {
        const headers = Object.fromEntries(REPLAYED_HEADERS.flatMap((name) => {
          const value = reply.getHeader(name)
          return value === undefined ? [] : [[name, String(value)]]
        }))
        await completeKey(app.db, identity, { statusCode: reply.statusCode, body: String(payload), headers })
      }
    } catch (error) {
      // The response itself is fine; the claim stays in flight until it counts as abandoned.
      request.log.error({ err: error }, 'could not record the idempotent response')
    }
    return payload
  }

  app.decorate('idempotency', { preHandler, onSend })

  const cleanup = setInterval(() => {
    deleteExpiredKeys(app.db).catch((error: Error) => app.log.warn({ err: error }, 'idempotency key cleanup failed'))
  }, options.cleanupIntervalMs)
  cleanup.unref()
  app.addHook('onClose', async () => clearInterval(cleanup))
}

export default fp(idempotencyPlugin, { name: 'idempotency', fastify: '5.x', dependencies: ['database'] })
