import { join } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { loadSigningKeys } from '../../src/identity/signing-keys.ts'
import { prependNewDataKey } from '../../src/secrets/key-ring.ts'

const RING = JSON.stringify(prependNewDataKey(undefined))

t.test('defaults follow the contract', async (t) => {
  const { jwt, ...rest } = loadConfig({})
  t.same(rest, {
    nodeEnv: 'development',
    host: '0.0.0.0',
    publicUrl: undefined,
    sessionTtlSeconds: 2_592_000,
    port: 3000,
    database: { url: undefined, pgliteDataDir: './data', poolMax: 10, connectTimeoutMs: 5000, statementTimeoutMs: 5000, queryTimeoutMs: 5000 },
    logLevel: 'info',
    bodyLimitBytes: 1_048_576,
    importBodyLimitBytes: 33_554_432,
    trustProxy: false,
    shutdownGraceMs: 10_000,
    principalCacheTtlMs: 30_000,
    bootstrapAdmin: undefined,
    loginMaxFailures: 5,
    passwordHashing: { memoryKib: 19_456, iterations: 2 },
    mail: { transport: { kind: 'outbox', directory: './data/outbox' }, from: 'users-service@localhost' },
    webhooks: undefined,
    eventsRetentionDays: 7,
    corsOrigins: undefined,
    requestTimeoutMs: 30_000,
    headersTimeoutMs: 10_000,
    redisUrl: undefined,
    metricsEnabled: true,
    pressure: { maxEventLoopDelayMs: 1000, maxEventLoopUtilization: 0, maxHeapUsedBytes: 0, maxRssBytes: 0 },
    rateLimit: { max: 100, windowMs: 60_000, authMax: 10 },
    dataKeys: { keys: undefined, developmentKeysFile: join('data', 'data-encryption-keys.json') },
    mfa: { requiredRoles: [], tokenTtlSeconds: 300, webauthn: { rpId: 'localhost', rpName: 'users-service', origins: ['http://localhost:3000'] } }
  })
  t.same(jwt, { signingKeys: undefined, developmentKeysFile: join('data', 'jwt-signing-keys.json'), issuer: 'users-service', audience: 'users-service', ttlSeconds: 900 },
    'outside production a generated key is kept beside the embedded database')
})

t.test('JWT_SIGNING_KEYS: required in production; without it, where a development key lives', async (t) => {
  t.throws(() => loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://users.example.com' }), /^JWT_SIGNING_KEYS is required in production/)
  t.equal(loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://users.example.com', JWT_SIGNING_KEYS: '{"keys":[]}', DATA_ENCRYPTION_KEYS: RING }).jwt.signingKeys, '{"keys":[]}', 'parsed when the app starts')
  t.equal(loadConfig({ PGLITE_DATA_DIR: 'memory://' }).jwt.developmentKeysFile, undefined, 'in memory with an in-memory database')
  t.equal(loadConfig({ DATABASE_URL: 'postgres://localhost/x' }).jwt.developmentKeysFile, undefined, 'per process with PostgreSQL')
  t.equal(loadConfig({ JWT_SIGNING_KEYS: '{}' }).jwt.developmentKeysFile, undefined, 'never when keys are configured')
})

t.test('JWT_SIGNING_KEYS that do not parse stop the start with a message naming the setting and never a key', async (t) => {
  const refusals: Array<[string, RegExp]> = [
    ['not json', /^JWT_SIGNING_KEYS is not JSON$/],
    ['{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"a"}]}', /^JWT_SIGNING_KEYS key 0 is not an Ed25519/],
    ['{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"public-only"}]}', /^JWT_SIGNING_KEYS key public-only is not a private key/]
  ]
  for (const [signingKeys, message] of refusals) {
    const error = await loadSigningKeys({ signingKeys, developmentKeysFile: undefined }).catch((error: unknown) => error)
    t.ok(error instanceof ConfigError, 'a configuration error, which the server prints as one line')
    t.match((error as Error).message, message)
    t.notMatch((error as Error).message, /c2VjcmV0|11qYAYKx/, 'never a key\'s material')
  }
})

t.test('ADMIN_EMAIL and ADMIN_PASSWORD go together', async (t) => {
  t.same(loadConfig({ ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'long enough' }).bootstrapAdmin, { email: 'root@example.com', password: 'long enough' })
  t.throws(() => loadConfig({ ADMIN_EMAIL: 'root@example.com' }), /ADMIN_EMAIL and ADMIN_PASSWORD/)
  t.throws(() => loadConfig({ ADMIN_EMAIL: 'root', ADMIN_PASSWORD: 'long enough' }), /^ADMIN_EMAIL /)
})

t.test('mail goes over SMTP_URL; without it to the outbox folder, except in production', async (t) => {
  t.same(loadConfig({ SMTP_URL: 'smtp://mail.example:587', MAIL_FROM: 'accounts@example.com' }).mail, { transport: { kind: 'smtp', url: 'smtp://mail.example:587' }, from: 'accounts@example.com' })
  t.same(loadConfig({ MAIL_OUTBOX_DIR: '/tmp/mails' }).mail.transport, { kind: 'outbox', directory: '/tmp/mails' })
  t.equal(loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://users.example.com', JWT_SIGNING_KEYS: '{}', DATA_ENCRYPTION_KEYS: RING }).mail.transport, undefined, 'production has no fallback')
  t.throws(() => loadConfig({ SMTP_URL: 'mail.example:25' }), /^SMTP_URL /)
  t.throws(() => loadConfig({ LOGIN_MAX_FAILURES: '0' }), /^LOGIN_MAX_FAILURES /)
})

t.test('WEBHOOK_URLS: http(s) URLs, never without WEBHOOK_SECRET', async (t) => {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`
  t.same(loadConfig({ WEBHOOK_URLS: 'https://a.example/hook, http://b.example:8080/x,https://a.example/hook', WEBHOOK_SECRET: secret }).webhooks,
    { urls: ['https://a.example/hook', 'http://b.example:8080/x'], secret }, 'trimmed, deduplicated')
  t.throws(() => loadConfig({ WEBHOOK_URLS: 'https://a.example/hook' }), /^WEBHOOK_SECRET is required when WEBHOOK_URLS is set/)
  t.throws(() => loadConfig({ WEBHOOK_URLS: 'not a url', WEBHOOK_SECRET: secret }), /^WEBHOOK_URLS holds "not a url", which is not a URL$/)
  t.throws(() => loadConfig({ WEBHOOK_URLS: 'ftp://a.example/x', WEBHOOK_SECRET: secret }), /^WEBHOOK_URLS .*only http and https/)
  t.throws(() => loadConfig({ WEBHOOK_URLS: 'https://a.example/hook', WEBHOOK_SECRET: 'swordfish' }), /^WEBHOOK_SECRET /)
  t.throws(() => loadConfig({ EVENTS_RETENTION_DAYS: '0' }), /^EVENTS_RETENTION_DAYS /)
})

t.test('CORS_ORIGIN is a comma-separated list', async (t) => {
  t.same(loadConfig({ CORS_ORIGIN: 'https://a.example, https://b.example' }).corsOrigins, ['https://a.example', 'https://b.example'])
})

t.test('values are converted from strings; empty means unset', async (t) => {
  const config = loadConfig({
    PORT: '8080',
    DATABASE_URL: 'postgres://app@db:5432/users',
    PGLITE_DATA_DIR: 'memory://',
    BODY_LIMIT_BYTES: '2048',
    LOG_LEVEL: 'warn',
    SHUTDOWN_GRACE_MS: '',
    UNRELATED: 'ignored'
  })
  t.match(config, { port: 8080, bodyLimitBytes: 2048, logLevel: 'warn', shutdownGraceMs: 10_000 })
  t.same(config.database, { url: 'postgres://app@db:5432/users', pgliteDataDir: 'memory://', poolMax: 10, connectTimeoutMs: 5000, statementTimeoutMs: 5000, queryTimeoutMs: 5000 })
})

t.test('rate limits: the buckets, Redis, and a switch to turn limiting off', async (t) => {
  const config = loadConfig({ RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '2000', AUTH_RATE_LIMIT_MAX: '2', REDIS_URL: 'redis://cache:6379/0' })
  t.same(config.rateLimit, { max: 5, windowMs: 2000, authMax: 2 })
  t.equal(config.redisUrl, 'redis://cache:6379/0')
  t.equal(loadConfig({ RATE_LIMIT_ENABLED: 'false' }).rateLimit, undefined)
})

t.test('TRUST_PROXY: off, a hop count or addresses; never "every hop"', async (t) => {
  t.equal(loadConfig({}).trustProxy, false)
  t.throws(() => loadConfig({ TRUST_PROXY: 'true' }), /^TRUST_PROXY=true would believe whatever clients write/)
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2)
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy, ['10.0.0.0/8', '127.0.0.1'])
  t.throws(() => loadConfig({ TRUST_PROXY: 'everyone' }), /TRUST_PROXY/)
})

const badValues: Array<[string, string]> = [
  ['PORT', 'abc'],
  ['PORT', '70000'],
  ['DATABASE_URL', 'mysql://db/users'],
  ['LOG_LEVEL', 'loud'],
  ['BODY_LIMIT_BYTES', '0'],
  ['SHUTDOWN_GRACE_MS', '-1'],
  ['REDIS_URL', 'cache:6379'],
  ['RATE_LIMIT_MAX', '0'],
  ['RATE_LIMIT_WINDOW_MS', '10'],
  ['AUTH_RATE_LIMIT_MAX', 'many'],
  ['RATE_LIMIT_ENABLED', 'maybe'],
  ['PRINCIPAL_CACHE_TTL_MS', '-1']
]
for (const [variable, value] of badValues) {
  t.test(`${variable}=${value} is refused with a message naming it`, async (t) => {
    const error = (() => {
      try {
        loadConfig({ [variable]: value })
      } catch (thrown) {
        return thrown
      }
    })()
    t.type(error, ConfigError)
    t.match((error as Error).message, new RegExp(`^${variable} \\w`))
  })
}

t.test('PUBLIC_URL: required in production, where a JWT_ISSUER URL can stand in for it', async (t) => {
  const production = { NODE_ENV: 'production', JWT_SIGNING_KEYS: '{}', DATA_ENCRYPTION_KEYS: RING }
  t.throws(() => loadConfig(production), /^PUBLIC_URL is required in production: /, 'one line naming it')
  t.equal(loadConfig({ ...production, JWT_ISSUER: 'https://id.example.com/tenant' }).publicUrl, 'https://id.example.com')
  t.equal(loadConfig({ ...production, PUBLIC_URL: 'https://users.example.com' }).publicUrl, 'https://users.example.com')
  t.equal(loadConfig({}).publicUrl, undefined, 'optional outside production')
})

t.test('password hashing: cheaper than OWASP\'s baseline outside production only', async (t) => {
  t.same(loadConfig({ PASSWORD_HASH_MEMORY_KIB: '1024', PASSWORD_HASH_ITERATIONS: '1' }).passwordHashing, { memoryKib: 1024, iterations: 1 })
  const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://users.example.com', JWT_SIGNING_KEYS: '{}', DATA_ENCRYPTION_KEYS: RING }
  t.throws(() => loadConfig({ ...production, PASSWORD_HASH_MEMORY_KIB: '19455' }), /^PASSWORD_HASH_MEMORY_KIB and PASSWORD_HASH_ITERATIONS must be at least 19456 and 2 in production/)
  t.throws(() => loadConfig({ ...production, PASSWORD_HASH_ITERATIONS: '1' }), /must be at least 19456 and 2 in production/)
  t.same(loadConfig({ ...production, PASSWORD_HASH_MEMORY_KIB: '65536', PASSWORD_HASH_ITERATIONS: '3' }).passwordHashing, { memoryKib: 65_536, iterations: 3 }, 'dearer is allowed')
  t.throws(() => loadConfig({ PASSWORD_HASH_MEMORY_KIB: '32' }), /^PASSWORD_HASH_MEMORY_KIB /)
})

t.test('DATA_ENCRYPTION_KEYS: required in production, checked at once, never echoed', async (t) => {
  t.throws(() => loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://users.example.com', JWT_SIGNING_KEYS: '{}' }), /^DATA_ENCRYPTION_KEYS is required in production/)
  t.throws(() => loadConfig({ DATA_ENCRYPTION_KEYS: 'not json' }), /^DATA_ENCRYPTION_KEYS is not JSON$/)
  t.throws(() => loadConfig({ DATA_ENCRYPTION_KEYS: '{"keys":[{"kid":"a","k":"c2hvcnQ"}]}' }), /^DATA_ENCRYPTION_KEYS key a must be 32 bytes, not 5$/)
  t.throws(() => loadConfig({ DATA_ENCRYPTION_KEYS: '{"keys":[]}' }), /at least one key/)
  t.equal(loadConfig({ DATA_ENCRYPTION_KEYS: RING }).dataKeys.developmentKeysFile, undefined, 'no development ring once one is set')
  t.equal(loadConfig({ PGLITE_DATA_DIR: 'memory://' }).dataKeys.developmentKeysFile, undefined, 'an in-memory database gets one per process')
})

t.test('MFA and WebAuthn settings', async (t) => {
  t.same(loadConfig({ MFA_REQUIRED_ROLES: 'admin, user' }).mfa.requiredRoles, ['admin', 'user'])
  t.throws(() => loadConfig({ MFA_REQUIRED_ROLES: 'root' }), /^MFA_REQUIRED_ROLES names root, which is not a role/)
  t.same(loadConfig({ PUBLIC_URL: 'https://users.example.com' }).mfa.webauthn, { rpId: 'users.example.com', rpName: 'users-service', origins: ['https://users.example.com'] }, 'the relying party is where people reach the service')
  t.same(loadConfig({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://a.example.com, https://b.example.com' }).mfa.webauthn.origins, ['https://a.example.com', 'https://b.example.com'])
  t.throws(() => loadConfig({ WEBAUTHN_ORIGINS: 'https://a.example.com/path' }), ConfigError)
  t.throws(() => loadConfig({ WEBAUTHN_RP_ID: 'Not A Domain' }), ConfigError)
  t.throws(() => loadConfig({ MFA_TOKEN_TTL_SECONDS: '5' }), /^MFA_TOKEN_TTL_SECONDS/)
})
