import Fastify, { type FastifyInstance } from 'fastify'
import type { DestinationStream } from 'pino'
import auth from '../plugins/app/auth.ts'
import bodyParsers from '../plugins/external/body-parsers.ts'
import corsPolicy from '../plugins/external/cors.ts'
import bootstrapAdmin from '../plugins/app/bootstrap-admin.ts'
import database from '../plugins/app/database.ts'
import domain from '../plugins/app/domain.ts'
import draining, { drainingServerOptions } from '../plugins/app/draining.ts'
import protocolChecks from '../plugins/app/protocol-checks.ts'
import housekeeping from '../plugins/app/housekeeping.ts'
import idempotency from '../plugins/app/idempotency.ts'
import metrics from '../plugins/external/metrics.ts'
import loadShedding from '../plugins/external/load-shedding.ts'
import mail, { type MailPluginOptions } from '../plugins/app/mail.ts'
import openapi from '../plugins/external/openapi.ts'
import problems from '../plugins/app/problems.ts'
import rateLimit, { type RateLimitPolicy } from '../plugins/external/rate-limit.ts'
import redis from '../plugins/external/redis.ts'
import securityHeaders from '../plugins/app/security-headers.ts'
import tracing, { tracingServerOptions } from '../plugins/app/tracing.ts'
import webhooks, { type WebhooksPluginOptions } from '../plugins/app/webhooks.ts'
import authRoutes from '../routes/auth.ts'
import emailVerificationRoutes from '../routes/email-verification.ts'
import eventsRoutes from '../routes/events.ts'
import healthRoutes from '../routes/health.ts'
import passwordResetRoutes from '../routes/password-reset.ts'
import sessionsRoutes from '../routes/sessions.ts'
import usersRoutes from '../routes/users.ts'
import scimRoutes from '../routes/scim.ts'
import transferRoutes from '../routes/transfer.ts'
import clientsRoutes from '../routes/clients.ts'
import factorsRoutes from '../routes/factors.ts'
import mfaLoginRoutes from '../routes/mfa-login.ts'
import { loadKeyRing, type KeyRing } from './secrets/key-ring.ts'
import { apiKeyAccess, apiKeyUseRecorder, clientAccess } from './clients/authentication.ts'
import wellKnownRoutes from '../routes/well-known.ts'
import { sharedSchemas } from '../schemas/index.ts'
import type { Config, TrustProxy } from './config.ts'
import { loggerOptions } from './observability/logger.ts'
import { passwordHasher } from './identity/passwords.ts'
import { sessionAccess } from './identity/sessions.ts'
import { loadSigningKeys, type SigningKeySet } from './identity/signing-keys.ts'
import { watchAccessChanges } from './users/users.ts'
import { clientErrorHandler, frameworkErrors } from './http/client-errors.ts'
import { buildValidator, refuseUndeclaredQueryParameters } from './http/validation.ts'
import { buildSerializer } from './http/serialization.ts'

export interface BuildOptions {
  /** Where log lines go; stdout when omitted. */
  logStream?: DestinationStream
  /** Tests sample the process more often than production does. */
  loadShedding?: { sampleIntervalMs: number }
  /** Tests retry mail and webhooks sooner than production does. */
  mail?: Pick<MailPluginOptions, 'retry' | 'pollIntervalMs' | 'leaseMs'>
  webhooks?: Pick<WebhooksPluginOptions, 'retry' | 'pollIntervalMs' | 'timeoutMs' | 'leaseMs'>
  /** Tests clean up more often than every 15 minutes. */
  housekeepingIntervalMs?: number
  /** Milliseconds since the epoch, for failed-login delays, TOTP steps and MFA expiries; tests move it instead of sleeping. */
  clock?: () => number
}

// Fastify honours a hop count, but its typings only admit the function form of it.
function trustProxyOption (trustProxy: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trustProxy === 'number' ? (_address, hop) => hop < trustProxy : trustProxy
}

function rateLimitPolicies ({ max, windowMs, authMax }: NonNullable<Config['rateLimit']>): RateLimitPolicy[] {
  return [
    { name: 'default', max, windowMs, keyBy: 'client' },
    { name: 'login', max: authMax, windowMs, keyBy: 'ip' }
  ]
}

/** The whole service, ready for `inject` or `listen`; it never listens by itself. */
export function buildApp (config: Config, options: BuildOptions = {}): FastifyInstance {
  const app = Fastify({
    ...tracingServerOptions(),
    logger: { ...loggerOptions(config.logLevel), ...(options.logStream === undefined ? {} : { stream: options.logStream }) },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: trustProxyOption(config.trustProxy),
    schemaController: { compilersFactory: { buildValidator, buildSerializer } },
    // The draining plugin answers requests that arrive while closing, as problems.
    return503OnClosing: false,
    // The server: explicit limits rather than Node's defaults, enforced within a second, so a slow
    // client cannot hold a request open; and a drain that does not wait on connections without a request.
    ...drainingServerOptions({
      headersTimeoutMs: config.headersTimeoutMs,
      requestTimeoutMs: config.requestTimeoutMs,
      // Longer than the usual load balancer idle timeout (60 s), so the balancer closes first.
      keepAliveTimeoutMs: 72_000
    }),
    routerOptions: { maxParamLength: 200 },
    // Start-up waits for what it needs however long it takes (PGlite's initdb on a starved
    // CPU, a long migration, another replica's migration lock), saying in the log what it
    // waits for; Fastify's 10 s per plugin crash-looped a pod with a small CPU limit.
    // Kubernetes' startup probe is what bounds it.
    pluginTimeout: 0,
    // What Node's parser refuses, and URLs Fastify cannot decode, answer as problems too.
    clientErrorHandler,
    frameworkErrors
  })

  for (const schema of sharedSchemas) app.addSchema(schema)

  app.register(tracing)
  app.register(problems)
  app.register(protocolChecks)
  app.register(bodyParsers)
  app.register(draining)
  // With every limit at 0 nothing is checked: nothing is sampled either.
  if (Object.values(config.pressure).some((limit) => limit > 0)) app.register(loadShedding, { limits: config.pressure, ...options.loadShedding })
  app.register(securityHeaders)
  app.register(corsPolicy, { origins: config.corsOrigins })
  app.register(database, { settings: config.database })
  // Before any route, so that every route is instrumented. Imported only when configured:
  // the OpenTelemetry SDK costs ~100 ms of start-up that a service without a collector need not pay.
  if (config.telemetry !== undefined) app.register(import('../plugins/external/telemetry.ts'), config.telemetry)
  if (config.metricsEnabled) app.register(metrics, { poolMax: config.database.url === undefined ? 1 : config.database.poolMax, bearerToken: config.metricsToken })
  // Loaded once, on first use: a generated development key must be the same for every plugin.
  let loadedKeys: Promise<SigningKeySet> | undefined
  const signingKeys = () => (loadedKeys ??= loadSigningKeys(config.jwt))
  const recordKeyUse = apiKeyUseRecorder()
  app.register(auth, {
    keys: signingKeys,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    ttlSeconds: config.jwt.ttlSeconds,
    principalCacheTtlMs: config.principalCacheTtlMs,
    readSessionAccess: (sessionId) => sessionAccess(app.db, sessionId),
    readClientAccess: (clientId) => clientAccess(app.db, clientId),
    readApiKey: (key) => apiKeyAccess(app.db, key),
    recordApiKeyUse: (keyId) => recordKeyUse(app.db, keyId),
    watchAccessChanges: (listener) => watchAccessChanges(app.database, listener)
  })
  let loadedRing: Promise<KeyRing> | undefined
  const dataKeys = () => (loadedRing ??= loadKeyRing(config.dataKeys))
  const now = options.clock ?? Date.now
  app.register(domain, { secrets: dataKeys, passwords: passwordHasher(config.passwordHashing), loginThrottle: { maxFailures: config.loginMaxFailures, now }, mfa: config.mfa, now })
  app.register(webhooks, { receivers: config.webhooks, ...options.webhooks })
  app.register(bootstrapAdmin, { admin: config.bootstrapAdmin })
  app.register(mail, { ...config.mail, secrets: dataKeys, ...options.mail })
  app.register(housekeeping, { eventsRetentionDays: config.eventsRetentionDays, intervalMs: options.housekeepingIntervalMs, now })
  app.register(idempotency, {
    secrets: async () => (await signingKeys()).all.map((key) => key.derivedSecret),
    ttlMs: 24 * 60 * 60 * 1000,
    abandonedAfterMs: Math.max(2 * config.requestTimeoutMs, 60_000),
    cleanupIntervalMs: 15 * 60 * 1000
  })
  app.register(openapi)
  app.register(healthRoutes)
  // Outside production PUBLIC_URL may be unset (production refuses to start so): the development origin then.
  app.register(wellKnownRoutes, { issuer: config.jwt.issuer, origin: config.publicUrl ?? `http://localhost:${config.port}` })
  app.register(redis, { url: config.redisUrl })
  app.register(async function api (v1) {
    v1.addHook('onRoute', refuseUndeclaredQueryParameters)
    // Only the API is limited: probes, metrics and docs are not.
    if (config.rateLimit !== undefined) await v1.register(rateLimit, { policies: rateLimitPolicies(config.rateLimit) })
    v1.register(authRoutes, {
      sessionTtlSeconds: config.sessionTtlSeconds,
      accessTokenTtlSeconds: config.jwt.ttlSeconds,
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      publicUrl: config.publicUrl
    })
    v1.register(mfaLoginRoutes, { sessionTtlSeconds: config.sessionTtlSeconds, accessTokenTtlSeconds: config.jwt.ttlSeconds })
    v1.register(passwordResetRoutes)
    v1.register(emailVerificationRoutes)
    v1.register(usersRoutes)
    v1.register(transferRoutes, { importBodyLimitBytes: config.importBodyLimitBytes })
    v1.register(sessionsRoutes)
    v1.register(factorsRoutes)
    v1.register(eventsRoutes)
    v1.register(clientsRoutes)
  }, { prefix: '/v1' })
  app.register(async function scim (v2) {
    if (config.rateLimit !== undefined) await v2.register(rateLimit, { policies: rateLimitPolicies(config.rateLimit) })
    v2.register(scimRoutes, { publicUrl: config.publicUrl })
  }, { prefix: '/scim/v2' })
  return app
}
