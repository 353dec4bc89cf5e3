import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ProblemError } from '../../src/http/problem-error.ts'

const AUTHORIZATION = 'authorization'

/** Node keeps the first of repeated Authorization headers and drops the rest without a word. */
function hasRepeatedAuthorization (rawHeaders: string[]): boolean {
  let seen = 0
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!
    if (name.length === AUTHORIZATION.length && name.toLowerCase() === AUTHORIZATION && ++seen > 1) return true
  }
  return false
}

/**
 * What HTTP says a server must refuse, refused as problems with a request id rather than
 * by Node's bare answers (the server lets these through to here, see draining.ts): an
 * HTTP/1.1 request without Host (RFC 9112 §3.2), an Expect other than 100-continue
 * (RFC 9110 §10.1.1), and more than one Authorization header: a proxy that checks the
 * last one and a service that used the first would disagree about who is calling.
 */
async function protocolChecksPlugin (app: FastifyInstance): Promise<void> {
  // Callback style: it runs on every request and almost never acts.
  app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    const { headers } = request
    if (headers.host === undefined && request.raw.httpVersion === '1.1') return done(new ProblemError('malformed-request', 'An HTTP/1.1 request needs a Host header.'))
    if (headers.expect !== undefined && headers.expect.toLowerCase() !== '100-continue') return done(new ProblemError('expectation-failed', 'The only expectation this service meets is 100-continue.'))
    if (headers.authorization !== undefined && hasRepeatedAuthorization(request.raw.rawHeaders)) return done(new ProblemError('malformed-request', 'Send one Authorization header, not several.'))
    done()
  })
}

export default fp(protocolChecksPlugin, { name: 'protocol-checks', fastify: '5.x', dependencies: ['problems'] })
