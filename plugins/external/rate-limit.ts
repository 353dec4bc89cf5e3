import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { withResponseHeaders } from '../../schemas/headers.ts'
import { rateLimitedResponse, rateLimitHeaders } from '../../schemas/rate-limit.ts'
import { ProblemError } from '../../src/http/problem-error.ts'
import { clientAddress } from '../../src/http/client-address.ts'

export interface RateLimitPolicy {
  /** Names the bucket in the RateLimit headers; routes naming the same policy share one bucket. */
  name: string
  max: number
  windowMs: number
  /** `client`: the user of a valid token, else the client IP. `ip`: always the client IP. */
  keyBy: 'client' | 'ip'
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The bucket that limits this route: a policy of the plugin by name (default `default`), one of its own, or none. */
    rateLimitPolicy?: string | RateLimitPolicy | false
  }
  interface FastifyRequest {
    rateLimitPolicy: RateLimitPolicy | null
  }
}

export interface RateLimitPluginOptions {
  /** Must include one named `default`. */
  policies: RateLimitPolicy[]
}

function seconds (milliseconds: number): number {
  return Math.max(1, Math.ceil(milliseconds / 1000))
}

/**
 * Rate limits on every route registered after it in its scope, with @fastify/rate-limit as
 * the engine (Redis when the redis plugin has a connection, else in-process) and the
 * IETF RateLimit-Policy / RateLimit fields. It runs before authentication, so failed
 * logins and bad tokens count too; a valid token's user is its key, so users behind one
 * address do not share a bucket. When Redis is unreachable requests are let through
 * (fail open): an outage of the limiter must not become an outage of the service.
 */
async function rateLimitPlugin (app: FastifyInstance, { policies }: RateLimitPluginOptions): Promise<void> {
  const named = new Map(policies.map((policy) => [policy.name, policy]))
  if (!named.has('default')) throw new Error('rate-limit: a policy named "default" is required')
  const store = app.redis

  async function subject (request: FastifyRequest, policy: RateLimitPolicy): Promise<string> {
    if (policy.keyBy === 'client') {
      // An invalid token earns no bucket of its own: it counts against the address.
      const caller = await app.callerKey(request)
      if (caller !== undefined) return caller
    }
    return `ip:${normalizeIP(clientAddress(request))}`
  }

  const policyOf = (request: FastifyRequest): RateLimitPolicy => request.rateLimitPolicy as RateLimitPolicy
  app.decorateRequest('rateLimitPolicy', null)
  await app.register(rateLimit, {
    global: false,
    ...(store === null ? { cache: 50_000 } : { redis: store.client, nameSpace: 'users-service:rate-limit:' }),
    keyGenerator: async (request) => `${policyOf(request).name}:${await subject(request, policyOf(request))}`,
    max: (request) => policyOf(request).max,
    timeWindow: (request) => policyOf(request).windowMs
  })
  const count = app.createRateLimit()

  async function limit (request: FastifyRequest, reply: FastifyReply, policy: RateLimitPolicy): Promise<void> {
    reply.header('ratelimit-policy', `"${policy.name}";q=${policy.max};w=${seconds(policy.windowMs)}`)
    if (store !== null && !store.connected) return
    request.rateLimitPolicy = policy
    let outcome: Awaited<ReturnType<typeof count>>
    try {
      outcome = await count(request)
    } catch (error) {
      store?.reportFailure(error as Error)
      return
    }
    store?.reportSuccess()
    if (outcome.isAllowed) return
    const resetSeconds = seconds(outcome.ttl)
    reply.header('ratelimit', `"${policy.name}";r=${outcome.remaining};t=${resetSeconds}`)
    if (outcome.isExceeded) {
      throw new ProblemError('too-many-requests', `At most ${policy.max} requests in ${seconds(policy.windowMs)} s; retry in ${resetSeconds} s.`, {
        headers: { 'retry-after': String(resetSeconds) }
      })
    }
  }

  function resolve (choice: string | RateLimitPolicy | undefined, url: string): RateLimitPolicy {
    if (typeof choice === 'object') return choice
    const policy = named.get(choice ?? 'default')
    if (policy === undefined) throw new Error(`rate-limit: route ${url} names an unknown policy "${String(choice)}"`)
    return policy
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    const choice = route.config?.rateLimitPolicy
    if (choice === false) return
    const policy = resolve(choice, route.url)
    const hook = (request: FastifyRequest, reply: FastifyReply): Promise<void> => limit(request, reply, policy)
    // First among the route's own hooks, so it runs before authentication.
    route.onRequest = [hook, ...[route.onRequest ?? []].flat()]
    if (route.schema?.response !== undefined) {
      const responses = withResponseHeaders(route.schema.response as Record<string, unknown>, rateLimitHeaders)
      route.schema = { ...route.schema, response: { ...responses, 429: rateLimitedResponse } }
    }
  })
}

export default fp(rateLimitPlugin, { name: 'rate-limit', fastify: '5.x', dependencies: ['auth', 'problems', 'redis'] })
