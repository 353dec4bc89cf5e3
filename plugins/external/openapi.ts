import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { requestIdHeader, withResponseHeaders } from '../../schemas/headers.ts'
import { securitySchemes } from '../../schemas/security.ts'
import { packageInfo } from '../../src/runtime/project-root.ts'

type Responses = Record<string, { headers?: Record<string, unknown> }>
type Document = { paths?: Record<string, Record<string, { responses?: Responses }>>, components?: { headers?: Record<string, unknown> } }

/**
 * Headers that read the same wherever they appear (ETag, X-Request-ID, RateLimit, …)
 * move to components.headers and are referenced, so the document and the clients
 * generated from it say each once.
 */
function shareHeaders (document: Document): Document {
  const responses = Object.values(document.paths ?? {}).flatMap((operations) => Object.values(operations))
    .flatMap((operation) => Object.values(operation.responses ?? {}))
  const variants = new Map<string, Set<string>>()
  for (const { headers = {} } of responses) {
    for (const [name, header] of Object.entries(headers)) variants.set(name, (variants.get(name) ?? new Set()).add(JSON.stringify(header)))
  }
  const shared: Record<string, unknown> = {}
  for (const [name, forms] of variants) {
    if (forms.size === 1) shared[name] = JSON.parse([...forms][0]!)
  }
  for (const response of responses) {
    for (const name of Object.keys(response.headers ?? {})) {
      if (name in shared) response.headers![name] = { $ref: `#/components/headers/${name}` }
    }
  }
  document.components = { ...document.components, headers: shared }
  return document
}

// OpenAPI 3.1 describes calls the service makes as `webhooks`: here, each change event.
// Where Swagger UI is served.
const DOCS = '/docs'

const WEBHOOKS = {
  userChange: {
    post: {
      summary: 'A change to a user, POSTed to every WEBHOOK_URLS receiver',
      description: 'The CloudEvent in structured mode, signed per the Standard Webhooks specification: `webhook-id` is the event id (drop duplicates by it: delivery is at least once), `webhook-timestamp` the Unix time of this attempt, `webhook-signature` `v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded part of WEBHOOK_SECRET after `whsec_`. Answer 2xx within 10 s; anything else is retried with exponential backoff for at least 24 hours. A user\'s events arrive in the order of their changes.',
      operationId: 'receiveUserChange',
      // The receiver authenticates the call by its signature, not by credentials of ours.
      security: [],
      tags: ['events'],
      parameters: [
        { name: 'webhook-id', in: 'header', required: true, schema: { type: 'string' } },
        { name: 'webhook-timestamp', in: 'header', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
        { name: 'webhook-signature', in: 'header', required: true, schema: { type: 'string', pattern: '^v1,' } }
      ],
      requestBody: { required: true, content: { 'application/cloudevents+json': { schema: { $ref: '#/components/schemas/CloudEvent' } } } },
      responses: { '2XX': { description: 'Delivered' }, default: { description: 'Not delivered: the event is sent again later' } }
    }
  }
}

/**
 * The OpenAPI 3.1 document, built from the route schemas; shared schemas keep their
 * `$id` as their name under components.schemas. Served at /openapi.json, rendered at /docs.
 */
async function openapiPlugin (app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'users-service',
        version: packageInfo.version,
        description: packageInfo.description,
        contact: { name: 'users-service maintainers', email: 'users-service@example.com' },
        license: { name: 'MIT', identifier: 'MIT' }
      },
      servers: [{ url: '/', description: 'The server that serves this document' }],
      components: { securitySchemes },
      tags: [
        { name: 'auth', description: 'Log in, refresh, log out' },
        { name: 'users', description: 'The users resource' },
        { name: 'sessions', description: 'A user\'s logins' },
        { name: 'account', description: 'Password reset and email verification, with tokens sent by mail' },
        { name: 'events', description: 'The change feed (also delivered as webhooks)' },
        { name: 'discovery', description: 'Keys and metadata for services that verify this service\'s tokens' },
        { name: 'scim', description: 'SCIM 2.0 provisioning (RFC 7643, RFC 7644) for identity providers, as a machine client holding `scim`. These operations speak `application/scim+json`, and every error under /scim/v2 is a SCIM error (RFC 7644 §3.12), not RFC 9457 problem details.' },
        { name: 'health', description: 'Liveness and readiness probes' }
      ]
    },
    // The tracing plugin sets X-Request-ID on every response; only the document needs telling.
    transform: ({ schema, url }) => ({
      url,
      schema: schema?.response === undefined ? schema : { ...schema, response: withResponseHeaders(schema.response as Record<string, unknown>, requestIdHeader) }
    }),
    transformObject: (document) => ({ ...shareHeaders(structuredClone('openapiObject' in document ? document.openapiObject : {}) as Document), webhooks: WEBHOOKS }) as never,
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json.$id === 'string' ? json.$id : `def-${index}`)
    }
  })
  // @fastify/swagger-ui 6 redirects its index.html to the prefix by a pattern anchored
  // at the URL's end, so with a query string it redirected to itself, forever.
  app.addHook('onRoute', (route) => {
    if (route.url === `${DOCS}/static/index.html`) {
      route.handler = (request, reply) => {
        const query = request.url.indexOf('?')
        return reply.redirect(`${DOCS}/${query === -1 ? '' : request.url.slice(query)}`)
      }
    }
  })
  await app.register(swaggerUi, { routePrefix: DOCS })
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger())
}

export default fp(openapiPlugin, { name: 'openapi', fastify: '5.x' })
