import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { problemResponses } from '../schemas/problem.js'
import { ProblemError } from '../src/problems.js'

const READINESS_TIMEOUT_MS = 2000
const RETRY_AFTER_SECONDS = '5'

function withTimeout (work: Promise<void>, milliseconds: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${milliseconds} ms`)), milliseconds)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/** Probes for orchestrators; logged only at warn so they do not flood the request log. */
export default async function healthRoutes (app: FastifyInstance): Promise<void> {
  const probe = { tags: ['health'], security: [] }

  app.get('/health/live', {
    logLevel: 'warn',
    schema: {
      ...probe,
      operationId: 'getLiveness',
      summary: 'Liveness: 200 while the process runs',
      response: { 200: Type.Ref('Health') }
    }
  }, async () => ({ status: 'ok' }))

  app.get('/health/ready', {
    logLevel: 'warn',
    schema: {
      ...probe,
      operationId: 'getReadiness',
      summary: 'Readiness: 200 when the database answers (a Redis outage is reported as degraded, still 200)',
      response: { 200: Type.Ref('Health'), ...problemResponses(503) }
    }
  }, async () => {
    try {
      await withTimeout(app.database.ping(), READINESS_TIMEOUT_MS)
    } catch {
      throw new ProblemError('service-unavailable', 'The database does not answer.', { headers: { 'retry-after': RETRY_AFTER_SECONDS } })
    }
    if (app.redis === null) return { status: 'ok', checks: { database: { status: 'ok' } } }
    // Without Redis the service still serves (rate limits fail open), so this is no reason to leave the load balancer.
    const rateLimitStore = app.redis.healthy
      ? { status: 'ok' as const }
      : { status: 'degraded' as const, detail: 'Redis is unreachable: rate limits are not enforced.' }
    return { status: rateLimitStore.status, checks: { database: { status: 'ok' }, rateLimitStore } }
  })
}
