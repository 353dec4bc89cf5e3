import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import Router, { type HTTPMethod } from 'find-my-way'
import { isDatabaseUnavailable } from '../../src/db/errors.ts'
import { asOAuthProblem, isOAuthError, oauthErrorDocument } from '../../src/http/oauth-errors.ts'
import { ClientNameTakenError, ClientNotFoundError, ClientWithoutSecretsError, CredentialNotFoundError, InvalidClientError, InvalidScopeError } from '../../src/clients/errors.ts'
import { AccountDisabledError, CapacityExceededError, CredentialsChangedError, MailLimitReachedError, DomainError, EmailTakenError, ExternalIdTakenError, InvalidAccountTokenError, InvalidRefreshTokenError, LastActiveAdminError, LoginDelayedError, MailUnavailableError, NotAllowedError, SessionNotFoundError, UnknownPrincipalError, UserNotFoundError, VersionMismatchError, InvalidFieldError, InsufficientScopeError, StepUpRequiredError } from '../../src/common/errors.ts'
import { insufficientScopeProblem, invalidTokenProblem, missingCredentialsProblem, pathOf, problemDocument, ProblemError, stepUpProblem, type FieldError, type ProblemKind } from '../../src/http/problem-error.ts'
import { FactorNotFoundError, InvalidCodeError, MfaRequiredError, SecondFactorRefusedError } from '../../src/mfa/errors.ts'
import { FixedGroupsError, GroupNotFoundError, ScimRequestError } from '../../src/scim/errors.ts'
import { TooManyImportedUsersError } from '../../src/transfer/import.ts'
import { ImportTooLargeError } from '../../src/transfer/lines.ts'
import { SCIM_MEDIA_TYPE, scimErrorDocument } from '../../src/http/scim-resources.ts'

interface ValidationIssue {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
  parentSchema?: { description?: string, format?: string }
}

const FORMAT_DETAILS: Record<string, string> = {
  email: 'must be a valid email address',
  uuid: 'must be a UUID',
  'date-time': 'must be an RFC 3339 date-time'
}

/**
 * A pattern says what a value must look like: its format when it has one (an id's
 * description says what the id is for, not its form: "must be Only events about this
 * user."), else its description, as the phrase it is.
 */
function patternDetail (schema: ValidationIssue['parentSchema']): string {
  const byFormat = schema?.format === undefined ? undefined : FORMAT_DETAILS[schema.format]
  if (byFormat !== undefined) return byFormat
  if (schema?.description === undefined) return 'has an invalid format'
  return `must be ${schema.description.charAt(0).toLowerCase()}${schema.description.slice(1).replace(/\.$/, '')}`
}

function detailFor (issue: ValidationIssue): string {
  switch (issue.keyword) {
    case 'required': return 'is required'
    case 'additionalProperties': return 'is not a known member'
    case 'format': return FORMAT_DETAILS[String(issue.params.format)] ?? `must match format ${String(issue.params.format)}`
    case 'enum': return `must be one of: ${(issue.params.allowedValues as unknown[]).join(', ')}`
    case 'minProperties': return 'must contain at least one member'
    case 'pattern': return patternDetail(issue.parentSchema)
    default: return issue.message ?? 'is invalid'
  }
}

function pointerFor (issue: ValidationIssue): string {
  const { missingProperty, additionalProperty } = issue.params
  const member = missingProperty ?? additionalProperty
  return member === undefined ? issue.instancePath : `${issue.instancePath}/${String(member)}`
}

/** One entry per failing field: the first issue ajv reports for it. */
function fieldErrors (issues: ValidationIssue[], inBody: boolean): FieldError[] {
  const byPointer = new Map<string, string>()
  for (const issue of issues) {
    const pointer = inBody ? pointerFor(issue) : pointerFor(issue).replace(/^\//, '')
    if (!byPointer.has(pointer)) byPointer.set(pointer, detailFor(issue))
  }
  return [...byPointer].map(([pointer, detail]) => ({ pointer, detail }))
}

const CLIENT_ERRORS_BY_CODE: Record<string, [ProblemKind, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported-media-type', 'Send the body as application/json or application/merge-patch+json.'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload-too-large', 'The request body is larger than this service accepts.'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['malformed-request', 'The body is empty, but its Content-Type says JSON.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['malformed-request', 'Content-Length does not match the body.'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['malformed-request', 'The body is not valid JSON.']
}

function clientErrorFor (error: FastifyError): ProblemError | undefined {
  const known = CLIENT_ERRORS_BY_CODE[error.code]
  if (known !== undefined) return new ProblemError(...known)
  // The JSON parser reports syntax errors as a SyntaxError carrying statusCode 400.
  if (error instanceof SyntaxError && error.statusCode === 400) return new ProblemError('malformed-request', 'The body is not valid JSON.')
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new ProblemError('malformed-request', 'The request could not be understood.')
  }
  return undefined
}

/** What each domain error means in HTTP. */
function problemForDomainError (error: DomainError): ProblemError | undefined {
  if (error instanceof EmailTakenError) return new ProblemError('email-taken', error.message)
  if (error instanceof UserNotFoundError) return new ProblemError('not-found', error.message)
  if (error instanceof VersionMismatchError) return new ProblemError('precondition-failed', error.message)
  if (error instanceof NotAllowedError) return new ProblemError('forbidden', error.message)
  if (error instanceof UnknownPrincipalError) return invalidTokenProblem('The user of this access token no longer exists.')
  if (error instanceof SessionNotFoundError) return new ProblemError('not-found', error.message)
  if (error instanceof InvalidRefreshTokenError || error instanceof CredentialsChangedError) return missingCredentialsProblem(error.message)
  if (error instanceof AccountDisabledError) return new ProblemError('forbidden', error.message)
  if (error instanceof CapacityExceededError) return new ProblemError('service-unavailable', error.message, { headers: { 'retry-after': '1' } })
  if (error instanceof InvalidFieldError) return new ProblemError('validation-failed', 'The request body does not match the schema.', { errors: [{ pointer: error.pointer, detail: error.message }] })
  if (error instanceof InsufficientScopeError) return insufficientScopeProblem(error.scope, error.message)
  if (error instanceof LoginDelayedError) return new ProblemError('login-delayed', error.message, { headers: { 'retry-after': String(error.retryAfterSeconds) } })
  if (error instanceof LastActiveAdminError) return new ProblemError('last-active-admin', error.message)
  if (error instanceof InvalidAccountTokenError) return new ProblemError('invalid-account-token', error.message)
  if (error instanceof MailUnavailableError) return new ProblemError('mail-unavailable', error.message)
  if (error instanceof MailLimitReachedError) return new ProblemError('too-many-requests', error.message, { headers: { 'retry-after': String(error.retryAfterSeconds) } })
  if (error instanceof ClientNotFoundError || error instanceof CredentialNotFoundError) return new ProblemError('not-found', error.message)
  if (error instanceof InvalidClientError) {
    return new ProblemError('invalid-client', error.message, error.triedBasic ? { headers: { 'www-authenticate': 'Basic realm="users-service"' } } : {})
  }
  if (error instanceof InvalidScopeError) return new ProblemError('invalid-scope', error.message)
  if (error instanceof ClientNameTakenError) return new ProblemError('client-name-taken', error.message)
  if (error instanceof ClientWithoutSecretsError) return new ProblemError('client-without-secrets', error.message)
  return problemForMfaError(error)
}

function problemForMfaError (error: DomainError): ProblemError | undefined {
  if (error instanceof StepUpRequiredError) return stepUpProblem(error.message)
  if (error instanceof MfaRequiredError) return new ProblemError('mfa-required', error.message, { members: { mfa_token: error.mfaToken, factors: error.factors } })
  if (error instanceof InvalidCodeError) return new ProblemError('invalid-code', error.message)
  if (error instanceof SecondFactorRefusedError) return new ProblemError('invalid-grant', error.message)
  if (error instanceof FactorNotFoundError) return new ProblemError('not-found', error.message)
  return problemForScimError(error)
}

function problemForScimError (error: DomainError): ProblemError | undefined {
  if (error instanceof ExternalIdTakenError) return new ProblemError('external-id-taken', error.message)
  if (error instanceof ScimRequestError) return new ProblemError('invalid-scim-request', error.message, { members: { scimType: error.scimType } })
  if (error instanceof GroupNotFoundError) return new ProblemError('not-found', error.message)
  if (error instanceof FixedGroupsError) return new ProblemError('forbidden', error.message)
  if (error instanceof TooManyImportedUsersError || error instanceof ImportTooLargeError) return new ProblemError('payload-too-large', error.message)
  return undefined
}

function toProblem (error: FastifyError): ProblemError | undefined {
  if (error instanceof ProblemError) return error
  if (error instanceof DomainError) return problemForDomainError(error)
  if (error.validation !== undefined) {
    const inBody = error.validationContext === 'body'
    const errors = fieldErrors(error.validation as ValidationIssue[], inBody)
    return inBody
      ? new ProblemError('validation-failed', 'The request body does not match the schema.', { errors })
      : new ProblemError('invalid-parameters', 'The path or query parameters are invalid.', { errors })
  }
  return clientErrorFor(error)
}

const ROUTABLE_METHODS: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route is an OAuth endpoint (token, revocation, introspection): errors are RFC 6749 §5.2 JSON. */
    oauthErrors?: boolean
  }
}

const SCIM_PATH = /^\/scim\/v2(\/|$)/

function sendProblem (request: FastifyRequest, reply: FastifyReply, found: ProblemError): FastifyReply {
  // Under /scim/v2 (its routes, and whatever is not one) errors are SCIM's own (RFC 7644 §3.12).
  if (SCIM_PATH.test(pathOf(request.url))) {
    if (found.extras.headers !== undefined) reply.headers(found.extras.headers)
    const { status, body } = scimErrorDocument(found)
    return reply.code(status).type(SCIM_MEDIA_TYPE).send(body)
  }
  const oauth = request.routeOptions.config.oauthErrors === true
  const problem = oauth ? asOAuthProblem(found) : found
  if (problem.extras.headers !== undefined) reply.headers(problem.extras.headers)
  if (oauth && isOAuthError(problem)) return reply.code(problem.status).type('application/json').send(oauthErrorDocument(problem, pathOf(request.url), request.id))
  return reply.code(problem.status).type('application/problem+json').send(problemDocument(problem, pathOf(request.url), request.id))
}

const DATABASE_RETRY_AFTER_SECONDS = '5'

/**
 * Every 4xx/5xx becomes RFC 9457 problem details: Fastify's own errors, schema
 * validation, unknown routes, wrong methods, an unreachable database (503 + Retry-After),
 * and anything unexpected (a generic 500).
 */
async function problemsPlugin (app: FastifyInstance): Promise<void> {
  // Which methods each path accepts, to tell 405 from 404.
  const routes = Router()
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      if (routes.find(method as HTTPMethod, route.url) === null) routes.on(method as HTTPMethod, route.url, () => {})
    }
  })

  app.setErrorHandler<FastifyError>((error, request, reply) => {
    const problem = toProblem(error)
    if (problem !== undefined) return sendProblem(request, reply, problem)
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable')
      return sendProblem(request, reply, new ProblemError('service-unavailable', 'The database is unreachable; retry shortly.', { headers: { 'retry-after': DATABASE_RETRY_AFTER_SECONDS } }))
    }
    request.log.error({ err: error }, 'unhandled error')
    return sendProblem(request, reply, new ProblemError('internal-error', 'An unexpected error occurred. Quote the request_id when you report it.'))
  })

  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request.url)
    const allowed = ROUTABLE_METHODS.filter((method) => routes.find(method, path) !== null)
    // A route of this method exists but found nothing (a missing file under a wildcard): 404.
    if (allowed.length > 0 && !allowed.includes(request.method as HTTPMethod)) {
      return sendProblem(request, reply, new ProblemError('method-not-allowed', `${request.method} is not supported here; use ${allowed.join(', ')}.`, {
        headers: { allow: allowed.join(', ') }
      }))
    }
    return sendProblem(request, reply, new ProblemError('not-found', `No resource at ${path}.`))
  })
}

export default fp(problemsPlugin, { name: 'problems', fastify: '5.x' })
