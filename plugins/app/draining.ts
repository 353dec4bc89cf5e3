import { Server, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { refuseConnect } from '../../src/http/client-errors.ts'
import { ProblemError } from '../../src/http/problem-error.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** True from the moment the app starts closing. */
    readonly draining: boolean
  }
}

const PROBES = '/health/'

/** How long a client may take; 0 turns a limit off. */
export interface ClientTimeouts {
  /** From the first byte of a request (or the connection) to the end of its headers. */
  headersTimeoutMs: number
  /** From the first byte of a request (or the connection) to the end of its body. */
  requestTimeoutMs: number
  /** How long a connection may sit idle between requests. */
  keepAliveTimeoutMs: number
}

/**
 * How often Node looks for requests past their headers or request timeout. Its default
 * (30 s) let a stalled request live up to a whole interval past its timeout.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 1000

/**
 * node:http's server, which drains without waiting on its clients. Node's own close()
 * closes only idle keep-alive connections, and stops enforcing the headers and request
 * timeouts: a connection that never sends a request, or stalls in its headers or body,
 * would hold the process until the grace period ran out. So when it stops listening,
 * this one also closes every connection without a complete request in flight, and once
 * the requests in flight have been answered, it closes whatever connections remain.
 */
export class DrainingServer extends Server {
  /** Per open connection, the requests it has sent whose response has not finished. */
  readonly #unanswered = new Map<Socket, Set<IncomingMessage>>()
  #closing = false
  #closedAll = false

  constructor (timeouts: ClientTimeouts, handler: (request: IncomingMessage, response: ServerResponse) => void) {
    super({
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      // Node's own answers to these are bare, without a problem or a request id: the
      // protocol-checks plugin refuses them instead.
      requireHostHeader: false
    }, handler)
    // An Expect other than 100-continue: Node would answer a bare 417 unless someone listens.
    this.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => this.emit('request', request, response))
    // Node closes the connection of a CONNECT nobody listens for, without a word.
    this.on('connect', refuseConnect)
    this.on('connection', (socket: Socket) => {
      this.#unanswered.set(socket, new Set())
      socket.once('close', () => {
        this.#unanswered.delete(socket)
        this.#closeWhenAnswered()
      })
    })
    this.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const requests = this.#unanswered.get(request.socket)
      if (requests === undefined) return
      requests.add(request)
      response.once('close', () => {
        requests.delete(request)
        this.#closeWhenAnswered()
      })
    })
  }

  override close (callback?: (error?: Error) => void): this {
    super.close(callback)
    this.#closing = true
    // Not listening any more. A connection whose requests are all complete (body
    // included) has them answered; any other has nothing to wait for.
    for (const [socket, requests] of this.#unanswered) {
      if (requests.size === 0 || [...requests].some((request) => !request.complete)) socket.destroy()
    }
    this.#closeWhenAnswered()
    return this
  }

  /**
   * Once closing, when no request is left unanswered: every response said `Connection: close`,
   * and a connection still open holds a client that has not read it all, or a request sent after it.
   */
  #closeWhenAnswered (): void {
    if (!this.#closing || this.#closedAll) return
    for (const requests of this.#unanswered.values()) if (requests.size > 0) return
    this.#closedAll = true
    this.closeAllConnections()
  }
}

/**
 * Fastify creates its server with this factory: its own server would be node:http's
 * (Fastify's `forceCloseConnections: 'idle'` closes only idle connections), and would
 * check the timeouts every 30 s. app.ts spreads these into the Fastify factory.
 */
export function drainingServerOptions (timeouts: ClientTimeouts): Pick<FastifyServerOptions, 'serverFactory'> {
  return { serverFactory: (handler) => new DrainingServer(timeouts, handler) }
}

/**
 * Graceful drain. When close() begins, requests already running finish, while one that
 * still reaches the app (before the server stops listening, or pipelined behind one in
 * flight) gets a 503 problem with Retry-After instead of running; every response while
 * draining says `Connection: close`, so clients move to another replica. Probes still
 * answer: readiness reports the drain itself, liveness stays up. The DrainingServer
 * closes the connections.
 */
async function drainingPlugin (app: FastifyInstance): Promise<void> {
  let draining = false
  app.decorate('draining', { getter: () => draining })
  app.addHook('preClose', async () => { draining = true })
  // Both run on every request and almost never act: callback style, so they cost no promise.
  // A client told so does not send another request on a connection the server is about to close.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close')
    done(null, payload)
  })
  app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    if (!draining || request.url.startsWith(PROBES)) return done()
    done(new ProblemError('service-unavailable', 'This instance is shutting down; retry, another one will answer.', { headers: { 'retry-after': '1' } }))
  })
}

export default fp(drainingPlugin, { name: 'draining', fastify: '5.x', dependencies: ['problems'] })
