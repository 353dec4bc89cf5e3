import { SerializerSelector, type RouteDefinition, type SerializerFactory } from '@fastify/fast-json-stringify-compiler'
import { rememberCompiled } from './compiled-cache.ts'

const select: SerializerFactory = SerializerSelector()

/**
 * Fastify's own response serializer compiler (fast-json-stringify), remembering what it
 * compiled: each fast-json-stringify build takes in every shared schema, so compiling
 * each route's responses costs more with each schema added.
 */
export const buildSerializer: SerializerFactory = (externalSchemas, options) => rememberCompiled(
  'serializer',
  [externalSchemas, options],
  select(externalSchemas, options),
  (route: RouteDefinition & { contentType?: string }) => [route.schema, route.httpStatus, route.contentType]
)
