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
export function serializeError (error: Error): ReturnType<typeof stdSerializers.err> {
  const serialized = stdSerializers.err(error)
  const { query } = error as { query?: unknown }
  if (typeof query !== 'string') return serialized
  const message = `Failed query: ${query}`
  serialized.stack = serialized.stack.replace(error.message, message)
  serialized.message = serialized.message.replace(error.message, message)
  delete serialized.params
  return serialized
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
