import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import metricsModule from 'fastify-metrics'
import { deliveryBacklog, DELIVERY_CHANNELS } from '../../src/events/delivery/queue.ts'
import { missingCredentialsProblem } from '../../src/http/problem-error.ts'

// A CommonJS module whose plugin is its `default` export.
const fastifyMetrics = metricsModule.default

export interface MetricsPluginOptions {
  poolMax: number
  /** When set, only requests with `Authorization: Bearer <it>` are answered. */
  bearerToken?: string | undefined
}

/** Constant-time, so the token cannot be guessed a character at a time. */
function bears (authorization: string | undefined, token: string): boolean {
  const expected = Buffer.from(`Bearer ${token}`)
  const given = Buffer.from(authorization ?? '')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/**
 * Prometheus metrics at /metrics (fastify-metrics over prom-client): request count and
 * duration by route template, method and status, observed once per request from
 * Fastify's own timing into a pre-bound histogram child; process metrics; and the database
 * pool: its size, statements in flight (at the size, requests queue for a connection)
 * and statement durations.
 */
async function metricsPlugin (app: FastifyInstance, { poolMax, bearerToken }: MetricsPluginOptions): Promise<void> {
  const guard = bearerToken === undefined
    ? {}
    : {
        onRequest: async (request: FastifyRequest) => {
          if (!bears(request.headers.authorization, bearerToken)) throw missingCredentialsProblem('/metrics needs the bearer token configured in METRICS_TOKEN.')
        }
      }
  await app.register(fastifyMetrics, {
    endpoint: { url: '/metrics', method: 'GET', logLevel: 'warn', schema: { hide: true }, handler: () => {}, ...guard },
    // One registry per process; a new app (tests build many) starts it afresh.
    clearRegisterOnInit: true,
    // Requests are timed below, more cheaply than the plugin's own timers per request.
    routeMetrics: { enabled: false }
  })
  const { client } = app.metrics
  // The histogram only: it aggregates across replicas; a summary cannot, and its quantiles are upkeep on every request.
  const requestDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Request duration in seconds, by method, route template and status',
    labelNames: ['method', 'route', 'status_code']
  })
  // One pre-bound child per method, route and status: labels are hashed once, not per request.
  const requestDurationOf = new Map<string, ReturnType<typeof requestDuration.labels>>()
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url
    // Registered routes only (a 404 has none), and not the scrape itself.
    if (route !== undefined && route !== '/metrics') {
      const key = `${request.method} ${reply.statusCode} ${route}`
      let child = requestDurationOf.get(key)
      if (child === undefined) {
        child = requestDuration.labels({ method: request.method, route, status_code: reply.statusCode })
        requestDurationOf.set(key, child)
      }
      // Fastify has timed the request already, from its arrival.
      child.observe(reply.elapsedTime / 1000)
    }
    done()
  })
  new client.Gauge({ name: 'db_pool_max_connections', help: 'Connections the database pool may open' }).set(poolMax)
  const inFlight = new client.Gauge({ name: 'db_statements_in_flight', help: 'Statements sent to the database and not yet answered' })
  const duration = new client.Histogram({
    name: 'db_statement_duration_seconds',
    help: 'Time from sending a statement to its answer',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
  })
  // Read from the deliveries table at each scrape: what every replica together has left to send.
  for (const [name, help, field] of [
    ['deliveries_pending', 'Mails and webhook calls waiting to be sent (retries included)', 'pending'],
    ['deliveries_failing', 'Pending deliveries whose last attempt failed', 'failing'],
    ['deliveries_given_up', 'Deliveries retried until their deadline and given up (kept for an operator)', 'givenUp'],
    ['deliveries_oldest_pending_age_seconds', 'Age of the oldest delivery still waiting to be sent', 'oldestPendingAgeSeconds']
  ] as const) {
    // The constructor already registered it (registering it again is a no-op); collect() fills it at each scrape.
    client.register.registerMetric(new client.Gauge({
      name,
      help,
      labelNames: ['channel'],
      async collect () {
        for (const channel of DELIVERY_CHANNELS) this.set({ channel }, (await deliveryBacklog(app.db, channel))[field])
      }
    }))
  }
  const succeeded = duration.labels({ outcome: 'ok' })
  const failed = duration.labels({ outcome: 'error' })
  app.database.observers.add(() => {
    inFlight.inc()
    const started = performance.now()
    return (error) => {
      inFlight.dec()
      const seconds = (performance.now() - started) / 1000
      if (error === undefined) succeeded.observe(seconds)
      else failed.observe(seconds)
    }
  })
}

export default fp(metricsPlugin, { name: 'metrics', fastify: '5.x', dependencies: ['database'] })
