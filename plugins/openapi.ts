import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { packageInfo } from '../src/project-root.js'

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
        license: { name: 'MIT', identifier: 'MIT' }
      },
      servers: [{ url: '/', description: 'The server that serves this document' }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A token from POST /v1/auth/token' }
        }
      },
      tags: [
        { name: 'auth', description: 'Log in' },
        { name: 'users', description: 'The users resource' },
        { name: 'health', description: 'Liveness and readiness probes' }
      ]
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json.$id === 'string' ? json.$id : `def-${index}`)
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger())
}

export default fp(openapiPlugin, { name: 'openapi', fastify: '5.x' })
