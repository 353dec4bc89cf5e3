import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { jsonResponse } from '../schemas/headers.ts'
import { Health, NotReady } from '../schemas/health.ts'
import { problemResponse } from '../schemas/problem.ts'
import { refTo } from '../schemas/ref.ts'
import { ProblemError } from '../src/http/problem-error.ts'

const READINESS_TIMEOUT_MS = 2000
const RETRY_AFTER_SECONDS = '5'

type Check = { status: 'ok' | 'degraded' | 'unavailable', detail?: string }

function withTimeout (work: Promise<void>, milliseconds: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${milliseconds} ms`)), milliseconds)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/** Probes for orchestrators; logged only at warn so they do not flood the request log. */
const healthRoutes: FastifyPluginAsyncTypebox = async function healthRoutes (app) {
  const probe = { tags: ['health'], security: [] }

  app.get('/health/live', {
    logLevel: 'warn',
    schema: {
      ...probe,
      operationId: 'getLiveness',
      summary: 'Liveness: 200 while the process runs, even while draining or overloaded',
      description: 'For the orchestrator\'s liveness probe: it never touches a dependency, so an outage elsewhere does not restart the pod.',
      response: { 200: jsonResponse(Health, 'The process runs') }
    }
  }, async () => ({ status: 'ok' as const }))

  async function databaseCheck (): Promise<Check> {
    try {
      await withTimeout(app.database.ping(), READINESS_TIMEOUT_MS)
      return { status: 'ok' }
    } catch {
      return { status: 'unavailable', detail: `The database does not answer within ${READINESS_TIMEOUT_MS} ms.` }
    }
  }

  function rateLimitStoreCheck (): Check | undefined {
    if (app.redis === null) return undefined
    // Without Redis the service still serves (rate limits fail open): no reason to leave the load balancer.
    return app.redis.healthy ? { status: 'ok' } : { status: 'degraded', detail: 'Redis is unreachable: rate limits are not enforced.' }
  }

  app.get('/health/ready', {
    logLevel: 'warn',
    schema: {
      ...probe,
      operationId: 'getReadiness',
      summary: 'Readiness: 200 when the database answers and the server is not draining',
      description: 'A Redis outage is reported as `degraded` and is still a 200: the service serves without it.',
      response: { 200: jsonResponse(Health, 'Ready to serve'), 503: problemResponse(503, refTo(NotReady)) }
    }
  }, async () => {
    const checks: Record<string, Check> = {
      database: await databaseCheck(),
      draining: app.draining ? { status: 'unavailable', detail: 'Shutting down: finishing the requests in flight.' } : { status: 'ok' }
    }
    const rateLimitStore = rateLimitStoreCheck()
    if (rateLimitStore !== undefined) checks.rateLimitStore = rateLimitStore
    const failing = Object.entries(checks).filter(([, check]) => check.status === 'unavailable').map(([name]) => name)
    if (failing.length > 0) {
      throw new ProblemError('service-unavailable', `Not ready: ${failing.join(', ')}.`, { headers: { 'retry-after': RETRY_AFTER_SECONDS }, members: { checks } })
    }
    return { status: rateLimitStore?.status === 'degraded' ? 'degraded' as const : 'ok' as const, checks }
  })
}

export default healthRoutes
