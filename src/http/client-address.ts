import { isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'

/**
 * The client's address as the trusted proxies name it (TRUST_PROXY), but only when it
 * is an address: a client that reaches the service directly can write anything into
 * X-Forwarded-For, and garbage must not become a rate-limit bucket or a log entry.
 */
export function clientAddress (request: FastifyRequest): string {
  return isIP(request.ip) !== 0 ? request.ip : request.socket.remoteAddress ?? 'unknown'
}
