import type { LoggerOptions } from 'pino'

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

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Plain JSON with ISO timestamps: what log shippers parse without configuration.
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) }
  }
}
