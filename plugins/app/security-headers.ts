import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet from 'helmet'

/** Where HTML is served (Swagger UI): the only responses a browser renders as a document. */
const HTML_PREFIX = '/docs'

/**
 * What an API's JSON answers carry (OWASP's REST Security Cheat Sheet): not to be stored
 * by a cache unless the route says otherwise (the JWKS does), never framed, never sniffed
 * into another type, and a policy that lets nothing load should one be rendered anyway.
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY'
})

/**
 * Helmet's headers for HTML documents, read once: with this configuration they do not
 * depend on the request. (@fastify/helmet builds, and parses the CSP of, a new helmet
 * middleware on every request.)
 */
function documentSecurityHeaders (): Record<string, string> {
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
 * Security headers on every response: the short set of a JSON API on its answers and
 * problems (404s included), helmet's full set for HTML documents on Swagger UI at /docs,
 * whose CSP allows only this origin's scripts and styles (its assets are served locally).
 * The eleven headers for documents on every JSON answer were a tenth of the bytes of a
 * hot-path response and set through a validating call each.
 */
async function securityHeadersPlugin (app: FastifyInstance): Promise<void> {
  const documentHeaders = documentSecurityHeaders()
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.routeOptions.url?.startsWith(HTML_PREFIX) === true ? documentHeaders : API_SECURITY_HEADERS)
    done()
  })
}

export default fp(securityHeadersPlugin, { name: 'security-headers', fastify: '5.x' })
