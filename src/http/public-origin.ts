import type { FastifyRequest } from 'fastify'

/** The origin absolute URLs are built on: PUBLIC_URL when set, else the one the request was made to. */
export function publicOrigin (request: FastifyRequest, publicUrl: string | undefined): string {
  return publicUrl ?? `${request.protocol}://${request.host}`
}
