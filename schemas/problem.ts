import Type, { type Static, type TSchema, type TUnsafe } from 'typebox'
import { PROBLEM_KINDS, PROBLEM_TYPE_BASE } from '../src/http/problem-error.ts'
import { refTo } from './ref.ts'

const catalogue = Object.entries(PROBLEM_KINDS)
  .map(([kind, { status, title }]) => `- \`${PROBLEM_TYPE_BASE}${kind}\` (${status}): ${title}`)
  .join('\n')

export const problemMembers = {
  type: Type.String({ format: 'uri-reference', description: `Identifies the kind of problem. Known types:\n${catalogue}` }),
  title: Type.String({ description: 'Short summary of the kind of problem.' }),
  status: Type.Integer({ minimum: 400, maximum: 599 }),
  detail: Type.String({ description: 'What went wrong with this request.' }),
  instance: Type.String({ description: 'The request path.' }),
  request_id: Type.String({ description: 'Same as the X-Request-ID response header.' })
}

const FieldErrors = Type.Array(Type.Object({
  pointer: Type.String({ description: 'JSON Pointer into the body, or the name of the parameter.' }),
  detail: Type.String()
}, { additionalProperties: false }), { description: 'One entry per failing field.' })

export const Problem = Type.Object(problemMembers, {
  $id: 'Problem',
  description: 'RFC 9457 problem details, served as application/problem+json.'
})

// `errors` stays optional: a 400 for malformed JSON has no fields to point at, and a
// 422 can be another kind than a validation failure (a reused Idempotency-Key).
export const ValidationProblem = Type.Object({ ...problemMembers, errors: Type.Optional(FieldErrors) }, {
  $id: 'ValidationProblem',
  examples: [{
    type: '/problems/validation-failed',
    title: 'Validation failed',
    status: 422,
    detail: 'The request body does not match the schema.',
    instance: '/v1/users',
    request_id: '5f0c6d1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f',
    errors: [{ pointer: '/email', detail: 'must be a valid email address' }, { pointer: '/password', detail: 'is required' }]
  }],
  description: 'A problem with the request itself (400, 422): when fields are at fault, `errors` has one entry per failing field.'
})

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed JSON, invalid path or query parameters, or an invalid, used or expired mailed token',
  401: 'Missing or invalid credentials',
  403: 'Not allowed for this caller',
  404: 'No such resource',
  409: 'The email is already taken, or the change would leave no active admin',
  412: 'If-Match does not match the current ETag',
  413: 'The body is over the size limit',
  415: 'The body is not JSON',
  422: 'The body breaks the schema',
  429: 'Rate limit exceeded, or too many failed logins for this email',
  500: 'An unexpected error',
  503: 'Unavailable: the database is unreachable, the server is draining or overloaded, or (mail endpoints) no mail server is configured'
}

export const retryAfterHeader = { 'Retry-After': Type.Integer({ minimum: 1, description: 'Seconds to wait before trying again.' }) }

/** What a problem of this status looks like: the first kind of the catalogue with that status. */
function exampleProblem (status: number): Record<string, unknown> {
  const [kind, { title }] = Object.entries(PROBLEM_KINDS).find(([, entry]) => entry.status === status) ?? ['internal-error', PROBLEM_KINDS['internal-error']]
  return {
    type: `${PROBLEM_TYPE_BASE}${kind}`,
    title,
    status,
    detail: PROBLEM_DESCRIPTIONS[status] ?? title,
    instance: '/v1/users',
    request_id: '5f0c6d1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f'
  }
}

type ProblemBody = Static<typeof ValidationProblem>

export interface ProblemResponse<Schema extends TSchema = TUnsafe<ProblemBody>> {
  description: string
  content: { 'application/problem+json': { schema: Schema, example: Record<string, unknown> } }
  headers?: Record<string, unknown>
}

/** The response of one problem status, with a schema of its own when the body has extension members. */
export function problemResponse<Schema extends TSchema = TUnsafe<ProblemBody>> (status: number, schema?: Schema): ProblemResponse<Schema> {
  return {
    description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
    content: { 'application/problem+json': { schema: schema ?? refTo(status === 400 || status === 422 ? ValidationProblem : Problem) as TSchema as Schema, example: exampleProblem(status) } },
    ...(status === 503 ? { headers: retryAfterHeader } : {})
  }
}

/** Response schemas for the problem statuses a route can return. */
export function problemResponses (...statuses: number[]): Record<number, ProblemResponse> {
  return Object.fromEntries(statuses.map((status) => [status, problemResponse(status)]))
}

export const OAuthError = Type.Object({
  error: Type.String({ description: 'RFC 6749 §5.2: `invalid_request`, `invalid_client`, `invalid_grant`, `invalid_scope`, `unauthorized_client`, `unsupported_grant_type`, `insufficient_scope`, `server_error` or `temporarily_unavailable`.' }),
  error_description: Type.String(),
  ...problemMembers,
  errors: Type.Optional(FieldErrors)
}, {
  $id: 'OAuthError',
  description: 'An OAuth error (RFC 6749 §5.2), served as application/json, carrying the RFC 9457 members as well.',
  examples: [{ error: 'invalid_client', error_description: 'Client authentication failed.', type: '/problems/invalid-client', title: 'Client authentication failed', status: 401, detail: 'Client authentication failed.', instance: '/v1/auth/token', request_id: '5f0c6d1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f' }]
})

const OAUTH_DESCRIPTIONS: Record<number, string> = {
  400: '`invalid_request` (a missing, repeated or malformed parameter), `invalid_scope`, `unauthorized_client` or `unsupported_grant_type`',
  401: '`invalid_client` (with `WWW-Authenticate: Basic` after Basic), or `invalid_grant` (a wrong password or a bad refresh token)',
  403: '`invalid_grant` for a disabled account, or `insufficient_scope`',
  413: '`invalid_request`: the body is over the size limit',
  415: '`invalid_request`: the body is neither a form nor JSON',
  500: '`server_error`',
  503: '`temporarily_unavailable`'
}

/**
 * The error responses of an OAuth endpoint: RFC 6749 JSON, except a 429, which stays a
 * problem document with Retry-After as everywhere.
 */
export function oauthErrorResponses (...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(statuses.map((status) => [status, status === 429
    ? problemResponse(429)
    : {
        description: OAUTH_DESCRIPTIONS[status] ?? 'An OAuth error',
        content: { 'application/json': { schema: refTo(OAuthError) } },
        ...(status === 503 ? { headers: retryAfterHeader } : {})
      }]))
}
