import type { FastifyRequest } from 'fastify'
import type { ClientCredentials } from '../clients/authentication.ts'
import { InvalidClientError } from '../clients/errors.ts'
import { ProblemError } from './problem-error.ts'

/** RFC 7523 §2.2: the only client assertion type there is. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

export interface ClientAuthenticationMembers {
  client_id?: string | undefined
  client_secret?: string | undefined
  client_assertion_type?: string | undefined
  client_assertion?: string | undefined
}

const BASIC = /^Basic +(\S*)$/i
// Strict base64 (RFC 4648 §4, padded): Node's decoder would silently skip anything else.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
function formDecode (text: string): string {
  return decodeURIComponent(text.replace(/\+/g, ' '))
}

function basicCredentials (encoded: string): { clientId: string, secret: string } {
  const malformed = new InvalidClientError(true, 'The Basic credentials are not base64 of "client_id:client_secret", each form-urlencoded.')
  if (encoded === '' || !BASE64.test(encoded)) throw malformed
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) throw malformed
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) }
  } catch {
    throw malformed
  }
}

function invalidRequest (detail: string, pointer?: string): ProblemError {
  return new ProblemError('invalid-request', detail, pointer === undefined ? {} : { errors: [{ pointer, detail }] })
}

/**
 * How the request authenticates its client, if it does: HTTP Basic, the secret in the
 * body, or a JWT assertion (RFC 7523). More than one way at once is an invalid_request
 * (RFC 6749 §2.3). A bare `client_id` (a public client, as Swagger UI sends) is none.
 * `audiences`: what an assertion's `aud` may be.
 */
export function clientCredentialsOf (request: FastifyRequest, body: ClientAuthenticationMembers, audiences: string[]): ClientCredentials | undefined {
  const header = BASIC.exec(request.headers.authorization ?? '')
  const basic = header === null ? undefined : basicCredentials(header[1]!)
  // Swagger UI's password flow sends an empty Basic pair or an empty secret for its public client: no client at all.
  const basicClient = basic !== undefined && (basic.clientId !== '' || basic.secret !== '') ? basic : undefined
  const secret = body.client_secret === '' ? undefined : body.client_secret
  const ways = [basicClient !== undefined, secret !== undefined, body.client_assertion !== undefined].filter(Boolean).length
  if (ways > 1) throw invalidRequest('Authenticate the client one way only: Basic, client_secret or client_assertion.')
  if (basicClient !== undefined) {
    const { clientId, secret } = basicClient
    if (body.client_id !== undefined && body.client_id !== clientId) throw invalidRequest('client_id differs from the client of the Basic credentials.', '/client_id')
    return { method: 'client_secret_basic', clientId, secret }
  }
  if (body.client_assertion !== undefined) {
    if (body.client_assertion_type !== JWT_BEARER_ASSERTION) throw invalidRequest(`client_assertion_type must be ${JWT_BEARER_ASSERTION}.`, '/client_assertion_type')
    return { method: 'private_key_jwt', assertion: body.client_assertion, audiences }
  }
  if (secret !== undefined) {
    if (body.client_id === undefined) throw invalidRequest('client_secret needs client_id.', '/client_id')
    return { method: 'client_secret_post', clientId: body.client_id, secret }
  }
  return undefined
}
