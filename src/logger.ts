import { stdSerializers, type LoggerOptions } from 'pino'

/** Paths pino censors wherever they appear in a log line. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'password',
  'password_hash',
  'passwordHash',
  'access_token',
  'token',
  '*.password',
  '*.password_hash',
  '*.passwordHash',
  '*.access_token',
  '*.token'
]

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
      parameters.set(name, '[redacted]')
      redacted = true
    }
  }
  return redacted ? `${url.slice(0, queryStart)}?${parameters}` : url
}

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
    // Plain JSON with ISO timestamps: what log shippers parse without configuration.
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) }
  }
}
