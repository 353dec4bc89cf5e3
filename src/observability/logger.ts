import { stdSerializers, type LoggerOptions } from 'pino'

const CENSORED = '[redacted]'
/** Keys whose values never reach a log line, at the top of a logged object or one level down. */
const SECRET_KEYS = new Set(['authorization', 'cookie', 'password', 'password_hash', 'passwordHash', 'access_token', 'refresh_token', 'token', 'client_secret', 'client_assertion', 'secret_hash', 'secretHash', 'key_hash', 'keyHash', 'mfa_token', 'mfaToken', 'code', 'secret', 'recovery_codes', 'totp_secret', 'totpSecret', 'otpauth_uri'])

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
}

/** The object with its secret keys censored, copied only where something is censored. */
function censored (object: Record<string, unknown>, depth: number): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined
  for (const key in object) {
    const value = object[key]
    let replacement = value
    if (SECRET_KEYS.has(key)) replacement = CENSORED
    else if (depth > 0 && isPlainObject(value)) replacement = censored(value, depth - 1)
    if (replacement !== value) (copy ??= { ...object })[key] = replacement
  }
  return copy ?? object
}

/**
 * Censors secrets in what is logged: any secret key at the top of the object, in an
 * object under it (`user.password`), or in the headers of a request under it
 * (`req.headers.authorization`). pino's own `redact` does this by path, but its
 * wildcards put every value of every line through the redactor, a measurable share of
 * the request log's cost; this looks at keys only, and copies nothing unless it censors.
 */
function censorSecrets (object: Record<string, unknown>): Record<string, unknown> {
  return censored(object, 2)
}

let lastMillisecond = 0
let lastTimestamp = ''

/** Plain JSON with ISO timestamps, formatted once per millisecond however many lines share it. */
function isoTimestamp (): string {
  const now = Date.now()
  if (now !== lastMillisecond) {
    lastMillisecond = now
    lastTimestamp = `,"time":"${new Date(now).toISOString()}"`
  }
  return lastTimestamp
}

/**
 * pino's error serializer, less the values of SQL statements: drizzle puts a failed
 * statement's parameters (emails, password hashes) into its error's message, and so
 * into the stack. What stays: the statement text, the SQLSTATE `code`, the causes.
 */
function codeInCauses (error: unknown): unknown {
  for (let current = error; current instanceof Error; current = current.cause) {
    const { code } = current as { code?: unknown }
    if (code !== undefined) return code
  }
  return undefined
}

function serializeError (error: Error): ReturnType<typeof stdSerializers.err> {
  const serialized = stdSerializers.err(error)
  // The SQLSTATE sits on the driver's error, which drizzle wraps as the cause.
  serialized.code ??= codeInCauses(error)
  const { query } = error as { query?: unknown }
  if (typeof query !== 'string') return serialized
  const message = `Failed query: ${query}`
  serialized.stack = serialized.stack.replace(error.message, message)
  serialized.message = serialized.message.replace(error.message, message)
  delete serialized.params
  return serialized
}

// Query parameters that carry secrets when a client puts them in a URL (an OAuth habit).
const SECRET_PARAMETER = /token|password|secret|key|code|signature|session/i

/** A request URL fit for a log line: the values of secret-looking query parameters replaced. */
export function redactUrl (url: string): string {
  const queryStart = url.indexOf('?')
  if (queryStart === -1) return url
  const parameters = new URLSearchParams(url.slice(queryStart + 1))
  let redacted = false
  for (const name of new Set(parameters.keys())) {
    if (SECRET_PARAMETER.test(name)) {
      parameters.set(name, CENSORED)
      redacted = true
    }
  }
  return redacted ? `${url.slice(0, queryStart)}?${parameters}` : url
}

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    serializers: { err: serializeError },
    // Plain JSON with ISO timestamps: what log shippers parse without configuration.
    timestamp: isoTimestamp,
    formatters: { level: (label) => ({ level: label }), log: censorSecrets }
  }
}
