import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet from 'helmet'

export interface HardeningOptions {
  /** Origins allowed to call the API from a browser; undefined turns CORS off. */
  corsOrigins: string[] | undefined
}

/**
 * Security headers on every response (helmet) and CORS only when configured.
 * The CSP allows only this origin's scripts and styles, which is all Swagger UI
 * at /docs needs, since its assets are served locally.
 */
async function hardeningPlugin (app: FastifyInstance, { corsOrigins }: HardeningOptions): Promise<void> {
  // helmet itself, configured once: @fastify/helmet builds (and parses the CSP of) a new
  // helmet middleware on every request, a measurable share of a cheap route's time.
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        // Swagger UI sets inline styles; scripts stay same-origin only.
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        // Plain HTTP on localhost must keep working; TLS is the ingress's job.
        'upgrade-insecure-requests': null
      }
    },
    // HSTS belongs to whoever terminates TLS, not to a service behind it.
    strictTransportSecurity: false
  })
  app.addHook('onRequest', (request, reply, done) => {
    securityHeaders(request.raw, reply.raw, () => { done() })
  })
  if (corsOrigins !== undefined) {
    await app.register(cors, {
      origin: corsOrigins,
      exposedHeaders: ['ETag', 'Location', 'Link', 'X-Request-ID', 'RateLimit', 'RateLimit-Policy', 'Retry-After']
    })
  }
}

export default fp(hardeningPlugin, { name: 'hardening', fastify: '5.x' })
