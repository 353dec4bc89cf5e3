import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../src/config.ts'
import { ProblemError } from '../../src/http/problem-error.ts'

export interface LoadSheddingOptions {
  limits: Config['pressure']
  /** How often the process is sampled; tests shorten it. */
  sampleIntervalMs?: number
}

// Liveness and the metrics scrape answer even under pressure: that is when they matter.
const EXEMPT = new Set(['/health/live', '/metrics'])
const RETRY_AFTER_SECONDS = '10'
const STARTUP_GRACE_MS = 1000

/**
 * Refuses work with a 503 problem while the event loop lags, or heap or RSS is over
 * its limit, so an overloaded process sheds load instead of falling over. Liveness
 * still answers (an overloaded process needs less traffic, not a restart), and so does
 * the metrics scrape.
 */
async function loadSheddingPlugin (app: FastifyInstance, { limits, sampleIntervalMs = 1000 }: LoadSheddingOptions): Promise<void> {
  // The first samples cover start-up (PGlite's boot and the migrations keep the loop
  // busy), which says nothing about load: they are not held against the first requests.
  let settledAt = Infinity
  app.addHook('onReady', async () => { settledAt = Date.now() + Math.max(2 * sampleIntervalMs, STARTUP_GRACE_MS) })
  await app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxEventLoopUtilization: limits.maxEventLoopUtilization,
    maxHeapUsedBytes: limits.maxHeapUsedBytes,
    maxRssBytes: limits.maxRssBytes,
    sampleInterval: sampleIntervalMs,
    pressureHandler: (request: FastifyRequest, _reply, type, value) => {
      if (EXEMPT.has(request.url) || Date.now() < settledAt) return undefined
      request.log.warn({ pressure: { type, value } }, 'shedding load')
      return Promise.reject(new ProblemError('service-unavailable', 'The server is overloaded; retry shortly.', { headers: { 'retry-after': RETRY_AFTER_SECONDS } }))
    }
  })
}

export default fp(loadSheddingPlugin, { name: 'load-shedding', fastify: '5.x', dependencies: ['problems'] })
