import { createHash } from 'node:crypto'
import { SerializerSelector, type RouteDefinition, type Serializer, type SerializerFactory } from '@fastify/fast-json-stringify-compiler'

const select: SerializerFactory = SerializerSelector()

// Compiled serializers by what they were compiled from: the shared schemas and options
// of the context, the route's schema and the status and media type it answers with.
const compiled = new Map<string, Serializer>()

function digest (value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value) ?? '').digest('base64url')
}

/**
 * Fastify's own response serializer compiler (fast-json-stringify), remembering what it
 * compiled for the life of the process. Each fast-json-stringify build takes in every
 * shared schema, so compiling each route's responses costs more with each schema added;
 * a process that builds many apps from the same schemas (the tests, the bench's ledger)
 * pays for it once. The compiled functions keep no state between calls, so apps can
 * share them; a server building one app compiles exactly as before.
 */
export const buildSerializer: SerializerFactory = (externalSchemas, options) => {
  const compile = select(externalSchemas, options)
  const context = digest([externalSchemas, options])
  return (route: RouteDefinition & { contentType?: string }) => {
    const key = `${context}:${digest([route.schema, route.httpStatus, route.contentType])}`
    let serialize = compiled.get(key)
    if (serialize === undefined) {
      serialize = compile(route)
      compiled.set(key, serialize)
    }
    return serialize
  }
}
