/**
 * The catalogue of problem types (RFC 9457). Each kind has a stable `type` URI,
 * a status and a title; the catalogue is published in the OpenAPI document.
 */
export const PROBLEM_KINDS = {
  'malformed-request': { status: 400, title: 'Malformed request' },
  'invalid-request': { status: 400, title: 'Invalid OAuth request' },
  'invalid-scope': { status: 400, title: 'Invalid scope' },
  'unauthorized-client': { status: 400, title: 'Grant not allowed for this client' },
  'unsupported-grant-type': { status: 400, title: 'Unsupported grant type' },
  'invalid-client': { status: 401, title: 'Client authentication failed' },
  'invalid-grant': { status: 401, title: 'Invalid grant' },
  'invalid-parameters': { status: 400, title: 'Invalid path or query parameters' },
  'invalid-account-token': { status: 400, title: 'Invalid, used or expired token' },
  'invalid-code': { status: 400, title: 'Invalid code or credential' },
  'invalid-scim-request': { status: 400, title: 'Invalid SCIM request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  'mfa-required-for-role': { status: 401, title: 'A second factor is needed for this' },
  forbidden: { status: 403, title: 'Forbidden' },
  'insufficient-scope': { status: 403, title: 'Insufficient scope' },
  'mfa-required': { status: 403, title: 'A second factor is needed to log in' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'request-timeout': { status: 408, title: 'Request timeout' },
  'email-taken': { status: 409, title: 'Email already taken' },
  'external-id-taken': { status: 409, title: 'externalId already taken' },
  'idempotency-key-in-flight': { status: 409, title: 'A request with this Idempotency-Key is still running' },
  'last-active-admin': { status: 409, title: 'The last active admin must stay' },
  'client-name-taken': { status: 409, title: 'Client name already taken' },
  'client-without-secrets': { status: 409, title: 'This client has no secrets' },
  'precondition-failed': { status: 412, title: 'Precondition failed' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'expectation-failed': { status: 417, title: 'Expectation failed' },
  'validation-failed': { status: 422, title: 'Validation failed' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key reused with a different request' },
  'too-many-requests': { status: 429, title: 'Too many requests' },
  'login-delayed': { status: 429, title: 'Too many failed logins for this email' },
  'request-header-fields-too-large': { status: 431, title: 'Request header fields too large' },
  'internal-error': { status: 500, title: 'Internal server error' },
  'service-unavailable': { status: 503, title: 'Service unavailable' },
  'mail-unavailable': { status: 503, title: 'Mail cannot be sent' }
} as const satisfies Record<string, { status: number, title: string }>

export type ProblemKind = keyof typeof PROBLEM_KINDS

// A relative reference (RFC 9457 §3.1.1): it resolves against the service's own
// origin, where GET /problems/{kind} describes the kind.
export const PROBLEM_TYPE_BASE = '/problems/'

function problemType (kind: ProblemKind): string {
  return PROBLEM_TYPE_BASE + kind
}

export interface FieldError {
  /** JSON Pointer into the body, or the name of the query/path parameter. */
  pointer: string
  detail: string
}

/** An error that is meant for the client: the error plugin renders it as a problem. */
export class ProblemError extends Error {
  override name = 'ProblemError'
  readonly status: number
  readonly kind: ProblemKind
  readonly detail: string
  /** `members`: extension members of this kind of problem (RFC 9457 §3.2). */
  readonly extras: { errors?: FieldError[], headers?: Record<string, string>, members?: Record<string, unknown> }

  constructor (kind: ProblemKind, detail: string, extras: ProblemError['extras'] = {}) {
    super(detail)
    this.kind = kind
    this.detail = detail
    this.extras = extras
    this.status = PROBLEM_KINDS[kind].status
  }
}

const REALM = 'realm="users-service"'

/** A 401 whose WWW-Authenticate challenge says why the bearer token was refused (RFC 6750 §3). */
export function invalidTokenProblem (detail: string): ProblemError {
  return new ProblemError('unauthorized', detail, {
    headers: { 'www-authenticate': `Bearer ${REALM}, error="invalid_token", error_description="${detail}"` }
  })
}

/** A 403 telling a client which scope it lacks (RFC 6750 §3.1). */
export function insufficientScopeProblem (scope: string, detail: string): ProblemError {
  return new ProblemError('insufficient-scope', detail, {
    headers: { 'www-authenticate': `Bearer ${REALM}, error="insufficient_scope", scope="${scope}"` },
    members: { scope }
  })
}

/** A 401 asking for a stronger login (RFC 9470): the token is valid, but only aal2 will do. */
export function stepUpProblem (detail: string): ProblemError {
  return new ProblemError('mfa-required-for-role', detail, {
    headers: { 'www-authenticate': `Bearer ${REALM}, error="insufficient_user_authentication", error_description="${detail}", acr_values="aal2"` }
  })
}

/** A 401 for a request that sent no credentials at all. */
export function missingCredentialsProblem (detail: string): ProblemError {
  return new ProblemError('unauthorized', detail, { headers: { 'www-authenticate': `Bearer ${REALM}` } })
}

/** The RFC 9457 document of a problem, as every error response carries it. */
export function problemDocument (problem: ProblemError, instance: string, requestId: string): Record<string, unknown> {
  const { status, title } = PROBLEM_KINDS[problem.kind]
  return {
    type: problemType(problem.kind),
    title,
    status,
    detail: problem.detail,
    instance,
    request_id: requestId,
    ...(problem.extras.errors === undefined ? {} : { errors: problem.extras.errors }),
    ...problem.extras.members
  }
}

/** The request path: `instance` leaves out the query string, which can carry emails. */
export function pathOf (url: string): string {
  const queryStart = url.indexOf('?')
  return queryStart === -1 ? url : url.slice(0, queryStart)
}
