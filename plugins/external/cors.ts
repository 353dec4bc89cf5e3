import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export interface CorsPolicyOptions {
  /** Origins allowed to call the API from a browser; undefined turns CORS off. */
  origins: string[] | undefined
}

/** CORS, only when origins are configured, exposing the headers a browser client reads. */
async function corsPolicyPlugin (app: FastifyInstance, { origins }: CorsPolicyOptions): Promise<void> {
  if (origins === undefined) return
  await app.register(cors, {
    origin: origins,
    // @fastify/cors allows only GET, HEAD and POST unless told: a browser could not PUT, PATCH or DELETE.
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    // The request headers the API reads (a preflight without this list would echo whatever was asked).
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'X-Request-ID', 'traceparent'],
    exposedHeaders: ['ETag', 'Location', 'Link', 'X-Request-ID', 'RateLimit', 'RateLimit-Policy', 'Retry-After']
  })
}

export default fp(corsPolicyPlugin, { name: 'cors-policy', fastify: '5.x' })
