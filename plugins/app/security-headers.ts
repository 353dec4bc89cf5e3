import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet from 'helmet'

/**
 * What helmet sets, read once: with this configuration its headers do not depend on the
 * request. (@fastify/helmet builds, and parses the CSP of, a new helmet middleware on
 * every request; calling even a prebuilt one sets each header through Node's validating
 * setHeader: both a measurable share of a cheap route's time.)
 */
function securityHeaders (): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader (name: string, value: string | number) { headers[name.toLowerCase()] = String(value) },
    removeHeader () {}
  }
  helmet({
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
  })({} as IncomingMessage, recorder as unknown as ServerResponse, () => {})
  return headers
}

/**
 * Security headers on every response (helmet). The CSP allows only this origin's scripts
 * and styles, which is all Swagger UI at /docs needs, since its assets are served locally.
 */
async function securityHeadersPlugin (app: FastifyInstance): Promise<void> {
  const headers = securityHeaders()
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })
}

export default fp(securityHeadersPlugin, { name: 'security-headers', fastify: '5.x' })
