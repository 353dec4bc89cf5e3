import Type, { type Static, type TSchema, type TUnsafe } from 'typebox'
import { refTo } from './ref.ts'

/** Response headers, as @fastify/swagger documents them from a response's `headers`. */
export const etagHeader = {
  ETag: Type.String({ description: 'The version of the user, e.g. `"3"`: send it as If-Match to update safely, or as If-None-Match to revalidate.' })
}

export const locationHeader = {
  Location: Type.String({ format: 'uri-reference', description: 'Where the new user lives: `/v1/users/{id}`.' })
}

export const linkHeader = {
  Link: Type.String({ description: 'RFC 8288 link to the next page, `<…>; rel="next"`; absent on the last page.' })
}

export const requestIdHeader = {
  'X-Request-ID': Type.String({ description: 'The incoming X-Request-ID when valid (1–128 of `[A-Za-z0-9._-]`), else a generated UUID; also in the log and in problem bodies.' })
}

export interface JsonResponse<Schema extends TSchema> {
  description: string
  content: { 'application/json': { schema: TUnsafe<Static<Schema>> } }
  headers: Record<string, unknown>
}

/** A JSON response whose body is a shared schema (by reference), with the headers it carries. */
export function jsonResponse<Schema extends TSchema> (schema: Schema, description: string, headers: Record<string, unknown> = {}): JsonResponse<Schema> {
  return { description, content: { 'application/json': { schema: refTo(schema) } }, headers }
}

/** The same responses, each documenting `headers` as well as its own: for headers that cross-cutting plugins add. */
export function withResponseHeaders (responses: Record<string, unknown>, headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(responses).map(([status, response]) => {
    const own = (response as { headers?: Record<string, unknown> }).headers
    return [status, { ...response as object, headers: { ...own, ...headers } }]
  }))
}

/** A response without a body (204, 304, or a 200 that has nothing to say). */
export function emptyResponse (description: string): TUnsafe<undefined> {
  return Type.Unsafe<undefined>(Type.Null({ description }))
}

/** RFC 6749 §5.1: responses carrying tokens must not be cached. */
export const cacheControlNoStore = { 'Cache-Control': Type.Literal('no-store', { description: 'Tokens must not be cached (RFC 6749 §5.1).' }) }
