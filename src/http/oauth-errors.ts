import { PROBLEM_KINDS, problemDocument, ProblemError, type ProblemKind } from './problem-error.ts'

/**
 * The token, revocation and introspection endpoints answer errors as RFC 6749 §5.2
 * says, in `application/json` (stock OAuth clients refuse other media types), with the
 * RFC 9457 members beside `error` and `error_description`.
 */
const OAUTH_CODES: Partial<Record<ProblemKind, string>> = {
  'invalid-request': 'invalid_request',
  'invalid-scope': 'invalid_scope',
  'unauthorized-client': 'unauthorized_client',
  'unsupported-grant-type': 'unsupported_grant_type',
  'invalid-client': 'invalid_client',
  'invalid-grant': 'invalid_grant',
  'insufficient-scope': 'insufficient_scope',
  'mfa-required': 'mfa_required',
  'payload-too-large': 'invalid_request',
  'unsupported-media-type': 'invalid_request',
  forbidden: 'invalid_grant',
  'internal-error': 'server_error',
  'service-unavailable': 'temporarily_unavailable',
  'request-timeout': 'temporarily_unavailable'
}

/** Kinds of the other endpoints that mean a bad parameter here: one 400 invalid_request for all. */
const BAD_PARAMETERS: ReadonlySet<ProblemKind> = new Set(['malformed-request', 'invalid-parameters', 'validation-failed'])

/** The problem as these endpoints tell it: bad parameters are a 400, a refused password or refresh token an invalid_grant. */
export function asOAuthProblem (problem: ProblemError): ProblemError {
  if (BAD_PARAMETERS.has(problem.kind)) return new ProblemError('invalid-request', problem.detail, { ...problem.extras.errors === undefined ? {} : { errors: problem.extras.errors } })
  // A Bearer challenge belongs to resource requests, not to a grant refused.
  if (problem.kind === 'unauthorized') return new ProblemError('invalid-grant', problem.detail)
  // The caller authenticated as a client, not with a bearer token: no Bearer challenge either.
  if (problem.kind === 'insufficient-scope') return new ProblemError('insufficient-scope', problem.detail, { members: problem.extras.members ?? {} })
  return problem
}

/** Whether the problem is told the OAuth way; 429s stay problem documents with Retry-After, as everywhere. */
export function isOAuthError (problem: ProblemError): boolean {
  return OAUTH_CODES[problem.kind] !== undefined && PROBLEM_KINDS[problem.kind].status !== 429
}

/** The body: the problem document with `error` and `error_description` first. */
export function oauthErrorDocument (problem: ProblemError, instance: string, requestId: string): Record<string, unknown> {
  return { error: OAUTH_CODES[problem.kind], error_description: problem.detail, ...problemDocument(problem, instance, requestId) }
}
