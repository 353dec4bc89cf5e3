import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

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
  await app.register(helmet, {
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
  if (corsOrigins !== undefined) {
    await app.register(cors, {
      origin: corsOrigins,
      exposedHeaders: ['ETag', 'Location', 'Link', 'X-Request-ID', 'RateLimit', 'RateLimit-Policy', 'Retry-After']
    })
  }
}

export default fp(hardeningPlugin, { name: 'hardening', fastify: '5.x' })
