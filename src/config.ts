import { join } from 'node:path'
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'
import type { DatabaseSettings } from './db/connect.ts'
import type { MailTransport } from './events/mail/sender.ts'
import { assertAcceptablePassword } from './identity/password-policy.ts'
import { OWASP_BASELINE, type PasswordHashing } from './identity/passwords.ts'
import { WEBHOOK_SECRET_PATTERN } from './events/webhooks/sender.ts'
import { KeyRingError, parseKeyRing } from './secrets/key-ring.ts'
import { ROLES, type Role } from './users/roles.ts'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * Every environment variable the service reads. Values arrive as strings and are
 * converted to the declared types before validation.
 */
export const EnvSchema = Type.Object({
  NODE_ENV: Type.String({ default: 'development' }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^/]+$', description: 'The origin clients reach the service at, e.g. https://users.example.com' })),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  PGLITE_DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 5000 }),
  DATABASE_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 5000 }),
  DATABASE_QUERY_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 5000 }),
  LOG_LEVEL: Type.Enum([...LOG_LEVELS], { default: 'info' }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1, default: 1_048_576 }),
  IMPORT_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1, default: 33_554_432 }),
  TRUST_PROXY: Type.String({ minLength: 1, default: 'false' }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, default: 10_000 }),
  JWT_SIGNING_KEYS: Type.Optional(Type.String({ minLength: 1 })),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'users-service' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'users-service' }),
  JWT_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 900 }),
  SESSION_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 31_536_000, default: 2_592_000 }),
  PRINCIPAL_CACHE_TTL_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 30_000 }),
  LOGIN_MAX_FAILURES: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  PASSWORD_HASH_MEMORY_KIB: Type.Integer({ minimum: 64, maximum: 262_144, default: OWASP_BASELINE.memoryKib }),
  PASSWORD_HASH_ITERATIONS: Type.Integer({ minimum: 1, maximum: 10, default: OWASP_BASELINE.iterations }),
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  MAIL_FROM: Type.String({ minLength: 3, default: 'users-service@localhost' }),
  MAIL_OUTBOX_DIR: Type.String({ minLength: 1, default: './data/outbox' }),
  WEBHOOK_URLS: Type.Optional(Type.String({ minLength: 1 })),
  WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: WEBHOOK_SECRET_PATTERN.source, description: 'whsec_ and the base64 of 24–64 random bytes' })),
  EVENTS_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 7 }),
  ADMIN_EMAIL: Type.Optional(Type.String({ format: 'email' })),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8, maxLength: 128 })),
  CORS_ORIGIN: Type.Optional(Type.String({ minLength: 1 })),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 0, default: 30_000 }),
  // Unset: 10 s, or REQUEST_TIMEOUT_MS when that is shorter.
  HEADERS_TIMEOUT_MS: Type.Optional(Type.Integer({ minimum: 0 })),
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, default: 1000 }),
  // Off by default: a saturated process runs at a utilisation near 1 while still answering in time;
  // the event-loop delay is what says requests are waiting.
  PRESSURE_MAX_EVENT_LOOP_UTILIZATION: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
  PRESSURE_MAX_HEAP_USED_BYTES: Type.Integer({ minimum: 0, default: 0 }),
  PRESSURE_MAX_RSS_BYTES: Type.Integer({ minimum: 0, default: 0 }),
  METRICS_ENABLED: Type.Boolean({ default: true }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  RATE_LIMIT_ENABLED: Type.Boolean({ default: true }),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 100 }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1000, default: 60_000 }),
  AUTH_RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 10 }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  OTEL_SERVICE_NAME: Type.String({ minLength: 1, default: 'users-service' }),
  DATA_ENCRYPTION_KEYS: Type.Optional(Type.String({ minLength: 1 })),
  MFA_REQUIRED_ROLES: Type.String({ default: '' }),
  MFA_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 30, maximum: 3600, default: 300 }),
  WEBAUTHN_RP_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9.-]+$', description: 'a domain, such as example.com (never an IP address)' })),
  WEBAUTHN_RP_NAME: Type.String({ minLength: 1, maxLength: 100, default: 'users-service' }),
  WEBAUTHN_ORIGINS: Type.Optional(Type.String({ minLength: 1 }))
})

export type Env = Static<typeof EnvSchema>

export type TrustProxy = false | number | string[]

export interface Config {
  nodeEnv: string
  host: string
  port: number
  /** The origin clients reach the service at; absolute URLs in metadata use it. */
  publicUrl: string | undefined
  database: DatabaseSettings
  logLevel: (typeof LOG_LEVELS)[number]
  bodyLimitBytes: number
  /** The largest body POST /v1/users/import takes (the general limit does not apply there). */
  importBodyLimitBytes: number
  trustProxy: TrustProxy
  shutdownGraceMs: number
  jwt: JwtSettings
  /** The longest life of a session (its refresh tokens), in seconds. */
  sessionTtlSeconds: number
  /** How long a user's role may be reused without a change notification; 0 reads it on every request. */
  principalCacheTtlMs: number
  bootstrapAdmin: { email: string, password: string } | undefined
  /** Consecutive failed logins per email before each further attempt must wait. */
  loginMaxFailures: number
  passwordHashing: PasswordHashing
  /** `transport` is undefined when the service cannot send mail (production without SMTP_URL). */
  mail: { transport: MailTransport | undefined, from: string }
  /** Receivers of every change event, signed with the secret; undefined when none are configured. */
  webhooks: { urls: string[], secret: string } | undefined
  eventsRetentionDays: number
  corsOrigins: string[] | undefined
  requestTimeoutMs: number
  /** How long a request's headers may take to arrive; at most requestTimeoutMs. */
  headersTimeoutMs: number
  redisUrl: string | undefined
  metricsEnabled: boolean
  /** When set, /metrics answers only requests bearing it (what Prometheus' bearer_token sends). */
  metricsToken: string | undefined
  /** Load-shedding thresholds; 0 turns a check off. */
  pressure: { maxEventLoopDelayMs: number, maxEventLoopUtilization: number, maxHeapUsedBytes: number, maxRssBytes: number }
  /** Undefined when rate limiting is turned off. */
  rateLimit: { max: number, windowMs: number, authMax: number } | undefined
  /** Undefined when no OTLP endpoint is configured: no traces, no cost. */
  telemetry: { endpoint: string, serviceName: string } | undefined
  /** DATA_ENCRYPTION_KEYS, or (never in production) where a generated ring is kept; in memory when both are undefined. */
  dataKeys: { keys: string | undefined, developmentKeysFile: string | undefined }
  mfa: MfaSettings
}

export interface MfaSettings {
  /** Roles whose role-only operations need an aal2 token. */
  requiredRoles: Role[]
  tokenTtlSeconds: number
  webauthn: { rpId: string, rpName: string, origins: string[] }
}

export interface JwtSettings {
  /** JWT_SIGNING_KEYS: a JWK Set of private keys; the first signs. */
  signingKeys: string | undefined
  /** Without JWT_SIGNING_KEYS (never in production): where a generated key set is kept; in memory when undefined. */
  developmentKeysFile: string | undefined
  issuer: string
  audience: string
  ttlSeconds: number
}

/** A configuration mistake, reported as one line that names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

function parseTrustProxy (raw: string): TrustProxy {
  // Believing every hop means believing the leftmost X-Forwarded-For entry, which the client writes.
  if (raw === 'true') throw new ConfigError('TRUST_PROXY=true would believe whatever clients write in X-Forwarded-For: give the number of proxies in front (e.g. 1) or their addresses')
  if (raw === 'false') return false
  if (/^\d+$/.test(raw)) return Number(raw)
  const addresses = raw.split(',').map((part) => part.trim()).filter(Boolean)
  if (addresses.length === 0 || addresses.some((address) => !/^[0-9a-fA-F.:/]+$/.test(address))) {
    throw new ConfigError('TRUST_PROXY must be false, a hop count, or a comma-separated list of addresses/CIDRs')
  }
  return addresses
}

// The embedded database keeps a generated key beside itself, so tokens survive a restart
// of `npm start`; an in-memory database or a PostgreSQL URL gets one per process.
/** A JWT_ISSUER that is an http(s) URL names where the service is (RFC 8414 §2): its origin stands in for PUBLIC_URL. */
function issuerOrigin (issuer: string): string | undefined {
  if (!/^https?:\/\//.test(issuer)) return undefined
  try {
    return new URL(issuer).origin
  } catch {
    return undefined
  }
}

function isEmbedded (values: Env): boolean {
  return values.DATABASE_URL === undefined && !values.PGLITE_DATA_DIR.startsWith('memory://')
}

function jwtSettings (values: Env): JwtSettings {
  const signingKeys = values.JWT_SIGNING_KEYS
  if (signingKeys === undefined && values.NODE_ENV === 'production') throw new ConfigError('JWT_SIGNING_KEYS is required in production (npm run keys:generate)')
  return {
    signingKeys,
    developmentKeysFile: signingKeys === undefined && isEmbedded(values) ? join(values.PGLITE_DATA_DIR, 'jwt-signing-keys.json') : undefined,
    issuer: values.JWT_ISSUER,
    audience: values.JWT_AUDIENCE,
    ttlSeconds: values.JWT_TTL_SECONDS
  }
}

function dataKeySettings (values: Env): Config['dataKeys'] {
  const keys = values.DATA_ENCRYPTION_KEYS
  if (keys === undefined && values.NODE_ENV === 'production') throw new ConfigError('DATA_ENCRYPTION_KEYS is required in production (npm run -s keys:generate -- --data)')
  if (keys !== undefined) {
    try {
      parseKeyRing(keys)
    } catch (error) {
      throw error instanceof KeyRingError ? new ConfigError(`DATA_ENCRYPTION_KEYS ${error.message}`) : error
    }
  }
  return { keys, developmentKeysFile: keys === undefined && isEmbedded(values) ? join(values.PGLITE_DATA_DIR, 'data-encryption-keys.json') : undefined }
}

function listOf (raw: string): string[] {
  return raw.split(',').map((part) => part.trim()).filter(Boolean)
}

// Cheaper hashes are for tests and laptops: production keeps at least OWASP's baseline.
function passwordHashing (values: Env): PasswordHashing {
  const hashing = { memoryKib: values.PASSWORD_HASH_MEMORY_KIB, iterations: values.PASSWORD_HASH_ITERATIONS }
  if (values.NODE_ENV === 'production' && (hashing.memoryKib < OWASP_BASELINE.memoryKib || hashing.iterations < OWASP_BASELINE.iterations)) {
    throw new ConfigError(`PASSWORD_HASH_MEMORY_KIB and PASSWORD_HASH_ITERATIONS must be at least ${OWASP_BASELINE.memoryKib} and ${OWASP_BASELINE.iterations} in production`)
  }
  return hashing
}

// The relying party is where people reach the service: PUBLIC_URL's host and origin,
// else localhost on the listening port (a secure context for WebAuthn without TLS).
function mfaSettings (values: Env, publicUrl: string | undefined): MfaSettings {
  const requiredRoles = listOf(values.MFA_REQUIRED_ROLES)
  const unknown = requiredRoles.find((role) => !(ROLES as readonly string[]).includes(role))
  if (unknown !== undefined) throw new ConfigError(`MFA_REQUIRED_ROLES names ${unknown}, which is not a role (${ROLES.join(', ')})`)
  const origins = values.WEBAUTHN_ORIGINS === undefined ? [publicUrl ?? `http://localhost:${values.PORT}`] : listOf(values.WEBAUTHN_ORIGINS)
  if (origins.some((origin) => !/^https?:\/\/[^/]+$/.test(origin))) throw new ConfigError('WEBAUTHN_ORIGINS must be a comma-separated list of origins such as https://app.example.com')
  return {
    requiredRoles: requiredRoles as Role[],
    tokenTtlSeconds: values.MFA_TOKEN_TTL_SECONDS,
    webauthn: { rpId: values.WEBAUTHN_RP_ID ?? (publicUrl === undefined ? 'localhost' : new URL(publicUrl).hostname), rpName: values.WEBAUTHN_RP_NAME, origins }
  }
}

function bootstrapAdmin (values: Env): Config['bootstrapAdmin'] {
  const { ADMIN_EMAIL: email, ADMIN_PASSWORD: password } = values
  if ((email === undefined) !== (password === undefined)) throw new ConfigError('ADMIN_EMAIL and ADMIN_PASSWORD must be set together')
  if (email === undefined || password === undefined) return undefined
  try {
    assertAcceptablePassword(password)
  } catch (error) {
    throw new ConfigError(`ADMIN_PASSWORD is refused: ${(error as Error).message}`)
  }
  return { email, password }
}

// Headers are a few hundred bytes a client sends at once: they must arrive well before a whole
// request (a body) may. Node refuses a headers timeout longer than the request timeout.
function headersTimeout ({ HEADERS_TIMEOUT_MS: headers, REQUEST_TIMEOUT_MS: request }: Env): number {
  if (headers === undefined) return request === 0 ? 10_000 : Math.min(10_000, request)
  if (request > 0 && headers > request) throw new ConfigError('HEADERS_TIMEOUT_MS must be at most REQUEST_TIMEOUT_MS')
  return headers
}

// Without an SMTP server, development mail lands in a folder; production has no such fallback.
function mailSettings (values: Env): Config['mail'] {
  const transport: MailTransport | undefined = values.SMTP_URL !== undefined
    ? { kind: 'smtp', url: values.SMTP_URL }
    : values.NODE_ENV === 'production' ? undefined : { kind: 'outbox', directory: values.MAIL_OUTBOX_DIR }
  return { transport, from: values.MAIL_FROM }
}

function parseWebhookUrl (raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`WEBHOOK_URLS holds "${raw}", which is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`WEBHOOK_URLS holds "${raw}": only http and https receivers are supported`)
  return url.href
}

function webhookSettings ({ WEBHOOK_URLS: rawUrls, WEBHOOK_SECRET: secret }: Env): Config['webhooks'] {
  if (rawUrls === undefined) return undefined
  const urls = [...new Set(rawUrls.split(',').map((part) => part.trim()).filter(Boolean).map(parseWebhookUrl))]
  if (urls.length === 0) return undefined
  if (secret === undefined) throw new ConfigError('WEBHOOK_SECRET is required when WEBHOOK_URLS is set (whsec_ and the base64 of 24–64 random bytes)')
  return { urls, secret }
}

/** Reads the environment; unset and empty variables take their defaults. */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(EnvSchema.properties)
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]])
  )
  const converted = Value.Convert(EnvSchema, Value.Default(EnvSchema, present))
  const firstError = Value.Errors(EnvSchema, converted)[0]
  if (firstError !== undefined) {
    const variable = firstError.instancePath.replace(/^\//, '') || 'environment'
    throw new ConfigError(`${variable} ${firstError.message}`)
  }
  const values = converted as Env
  const publicUrl = values.PUBLIC_URL ?? issuerOrigin(values.JWT_ISSUER)
  // Absolute URLs never come from a request's Host: in production, where it could poison a cache, they must be configured.
  if (publicUrl === undefined && values.NODE_ENV === 'production') throw new ConfigError('PUBLIC_URL is required in production: the origin clients reach the service at, e.g. https://users.example.com')
  return {
    nodeEnv: values.NODE_ENV,
    host: values.HOST,
    port: values.PORT,
    publicUrl,
    database: {
      url: values.DATABASE_URL,
      pgliteDataDir: values.PGLITE_DATA_DIR,
      poolMax: values.DATABASE_POOL_MAX,
      connectTimeoutMs: values.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: values.DATABASE_STATEMENT_TIMEOUT_MS,
      queryTimeoutMs: values.DATABASE_QUERY_TIMEOUT_MS
    },
    logLevel: values.LOG_LEVEL,
    bodyLimitBytes: values.BODY_LIMIT_BYTES,
    importBodyLimitBytes: values.IMPORT_BODY_LIMIT_BYTES,
    trustProxy: parseTrustProxy(values.TRUST_PROXY),
    shutdownGraceMs: values.SHUTDOWN_GRACE_MS,
    jwt: jwtSettings(values),
    sessionTtlSeconds: values.SESSION_TTL_SECONDS,
    principalCacheTtlMs: values.PRINCIPAL_CACHE_TTL_MS,
    bootstrapAdmin: bootstrapAdmin(values),
    loginMaxFailures: values.LOGIN_MAX_FAILURES,
    passwordHashing: passwordHashing(values),
    mail: mailSettings(values),
    webhooks: webhookSettings(values),
    eventsRetentionDays: values.EVENTS_RETENTION_DAYS,
    corsOrigins: values.CORS_ORIGIN === undefined ? undefined : listOf(values.CORS_ORIGIN),
    requestTimeoutMs: values.REQUEST_TIMEOUT_MS,
    headersTimeoutMs: headersTimeout(values),
    redisUrl: values.REDIS_URL,
    metricsEnabled: values.METRICS_ENABLED,
    metricsToken: values.METRICS_TOKEN,
    pressure: {
      maxEventLoopDelayMs: values.PRESSURE_MAX_EVENT_LOOP_DELAY_MS,
      maxEventLoopUtilization: values.PRESSURE_MAX_EVENT_LOOP_UTILIZATION,
      maxHeapUsedBytes: values.PRESSURE_MAX_HEAP_USED_BYTES,
      maxRssBytes: values.PRESSURE_MAX_RSS_BYTES
    },
    rateLimit: values.RATE_LIMIT_ENABLED
      ? { max: values.RATE_LIMIT_MAX, windowMs: values.RATE_LIMIT_WINDOW_MS, authMax: values.AUTH_RATE_LIMIT_MAX }
      : undefined,
    telemetry: values.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
      ? undefined
      : { endpoint: values.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: values.OTEL_SERVICE_NAME },
    dataKeys: dataKeySettings(values),
    mfa: mfaSettings(values, publicUrl)
  }
}
