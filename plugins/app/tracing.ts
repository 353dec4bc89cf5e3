import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { clientAddress } from '../../src/http/client-address.ts'
import { redactUrl } from '../../src/observability/logger.ts'

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/
const ALL_ZEROS = /^0+$/

export interface TraceContext {
  traceId: string
  parentSpanId: string
}

/** A W3C trace context, or undefined when the header is absent or invalid. */
export function parseTraceparent (header: string | string[] | undefined): TraceContext | undefined {
  if (typeof header !== 'string') return undefined
  const match = TRACEPARENT.exec(header.trim())
  if (match === null) return undefined
  const [, version, traceId, parentSpanId] = match as unknown as [string, string, string, string]
  if (version === 'ff' || ALL_ZEROS.test(traceId) || ALL_ZEROS.test(parentSpanId)) return undefined
  return { traceId, parentSpanId }
}

function requestIdFor (request: IncomingMessage): string {
  const incoming = request.headers['x-request-id']
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
}

/** One line per request, written when it completes, instead of Fastify's two. */
class OneLinePerRequest extends LogController {
  constructor () {
    super({ requestIdLogLabel: 'request_id' })
  }

  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    request.log[error == null ? 'info' : 'error']({
      method: request.method,
      url: redactUrl(request.url),
      route: request.routeOptions.url,
      status: reply.statusCode,
      duration_ms: Number(reply.elapsedTime.toFixed(2)),
      remote_address: clientAddress(request),
      user_agent: request.headers['user-agent']
    }, 'request completed')
  }
}

/**
 * Request ids and trace ids are bound before any hook runs, so they are server
 * options rather than hooks: app.ts spreads these into the Fastify factory.
 */
export function tracingServerOptions (): FastifyServerOptions {
  return {
    logController: new OneLinePerRequest(),
    genReqId: requestIdFor,
    childLoggerFactory (logger, bindings, options, rawRequest) {
      const trace = parseTraceparent((rawRequest as IncomingMessage).headers.traceparent)
      const traceBindings = trace === undefined ? bindings : { ...bindings, trace_id: trace.traceId, parent_span_id: trace.parentSpanId }
      return logger.child(traceBindings, options)
    }
  }
}

/** X-Request-ID and Server-Timing on every response. */
async function tracingPlugin (app: FastifyInstance): Promise<void> {
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    reply.header('server-timing', `app;dur=${reply.elapsedTime.toFixed(2)}`)
    done(null, payload)
  })
}

export default fp(tracingPlugin, { name: 'tracing', fastify: '5.x' })
