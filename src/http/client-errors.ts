import { randomUUID } from 'node:crypto'
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { pathOf, problemDocument, ProblemError, type ProblemKind } from './problem-error.ts'

// Node's parser and timers reject some requests before Fastify ever sees them.
const KIND_BY_CODE: Record<string, ProblemKind> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'request-timeout',
  HPE_HEADER_OVERFLOW: 'request-header-fields-too-large'
}

const DETAIL: Partial<Record<ProblemKind, string>> = {
  'request-timeout': 'The request was not received in time.',
  'request-header-fields-too-large': 'The request headers are larger than this service accepts.'
}

/**
 * Fastify's clientErrorHandler: the answers Node's HTTP parser gives (400 for a
 * malformed request line or header, 408, 431) as problem details with a request id,
 * like every other error the service sends, on a connection that then closes.
 */
export function clientErrorHandler (error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const kind = KIND_BY_CODE[error.code ?? ''] ?? 'malformed-request'
  // The request line may be what could not be parsed: there is no path to name.
  endWithProblem(socket, new ProblemError(kind, DETAIL[kind] ?? 'The request line or headers could not be parsed.'), '')
}

/** Answers a problem straight on the socket, with a request id, and closes the connection. */
export function endWithProblem (socket: Socket, problem: ProblemError, instance: string): void {
  const requestId = randomUUID()
  const body = JSON.stringify(problemDocument(problem, instance, requestId))
  // Destroyed once written: a socket given up by Node's HTTP parser (CONNECT's) has no timeout left to close it.
  socket.end([
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}`,
    'Content-Type: application/problem+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-ID: ${requestId}`,
    ...Object.entries(problem.extras.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    'Connection: close',
    '',
    body
  ].join('\r\n'), () => socket.destroy())
}

/** A CONNECT request (a tunnel through a proxy, which this service is not): Node hands over the socket, not a response. */
export function refuseConnect (_request: IncomingMessage, socket: Socket): void {
  endWithProblem(socket, new ProblemError('method-not-allowed', 'CONNECT: this service is not a proxy.', { headers: { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE' } }), '')
}

/**
 * Fastify's frameworkErrors: a URL it cannot decode is answered before any hook or
 * error handler runs, so the problem is written here, request id included.
 */
export function frameworkErrors (_error: Error, request: FastifyRequest, reply: FastifyReply): void {
  const problem = new ProblemError('malformed-request', 'The request URL could not be decoded.')
  reply.code(problem.status).type('application/problem+json').header('x-request-id', request.id)
    .send(problemDocument(problem, pathOf(request.url), request.id))
}
