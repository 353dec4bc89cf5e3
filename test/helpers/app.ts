import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance, InjectOptions } from 'fastify'
import type { Test } from 'tap'
import { buildApp, type BuildOptions } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { prependNewKey } from '../../src/identity/signing-keys.ts'
import { prependNewDataKey } from '../../src/secrets/key-ring.ts'
import { startSession } from '../../src/identity/sessions.ts'
import { SYSTEM } from '../../src/access/actor.ts'
import type { Role } from '../../src/users/roles.ts'
import type { DatabaseSettings } from '../../src/db/connect.ts'
import { SpecValidator } from './spec-validator.ts'
import { cheapHashingUnlessProduction } from './hashing.ts'

/** Log lines the app wrote, parsed. */
export class LogCapture extends Writable {
  readonly lines: Array<Record<string, unknown>> = []
  readonly raw: string[] = []

  override _write (chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      this.raw.push(line)
      this.lines.push(JSON.parse(line) as Record<string, unknown>)
    }
    done()
  }
}

export interface ApiResponse {
  status: number
  headers: Record<string, string | string[] | number | undefined>
  body: any
  text: string
}

// Every app of a test process describes itself with the same document: compile it once,
// not once per client (each token's client used to compile every schema it met again).
const validators = new Map<string, SpecValidator>()
const validatorOfApp = new WeakMap<FastifyInstance, SpecValidator>()

function validatorFor (app: FastifyInstance): SpecValidator {
  let validator = validatorOfApp.get(app)
  if (validator !== undefined) return validator
  const document = app.swagger()
  const key = JSON.stringify(document)
  validator = validators.get(key) ?? new SpecValidator(document as never)
  validators.set(key, validator)
  validatorOfApp.set(app, validator)
  return validator
}

/** `app.inject`, with every response checked against the app's OpenAPI document. */
export class Api {
  private readonly t: Test
  readonly app: FastifyInstance
  private readonly defaultHeaders: Record<string, string>
  /** When set, requests go over real HTTP to this listening server instead of `inject`. */
  private readonly baseUrl: string | undefined

  constructor (t: Test, app: FastifyInstance, defaultHeaders: Record<string, string> = {}, baseUrl?: string) {
    this.t = t
    this.app = app
    this.defaultHeaders = defaultHeaders
    this.baseUrl = baseUrl
  }

  /** The same client, sending this bearer token. */
  withToken (token: string): Api {
    return new Api(this.t, this.app, { authorization: `Bearer ${token}` }, this.baseUrl)
  }

  /** The same client, over HTTP to the app listening on a loopback port. */
  async overHttp (): Promise<Api> {
    if (this.app.server.listening === false) await this.app.listen({ host: '127.0.0.1', port: 0 })
    const address = this.app.server.address() as { port: number }
    return new Api(this.t, this.app, this.defaultHeaders, `http://127.0.0.1:${address.port}`)
  }

  private async send (options: InjectOptions & { url: string }): Promise<{ statusCode: number, headers: ApiResponse['headers'], body: string }> {
    const headers = { ...this.defaultHeaders, ...options.headers as Record<string, string> }
    if (this.baseUrl === undefined) return this.app.inject({ ...options, headers })
    const payload = options.payload
    const isJson = payload !== undefined && typeof payload !== 'string'
    const response = await fetch(this.baseUrl + options.url, {
      method: options.method ?? 'GET',
      headers: isJson ? { 'content-type': 'application/json', ...headers } : headers,
      body: payload === undefined ? undefined : isJson ? JSON.stringify(payload) : payload as string
    })
    return { statusCode: response.status, headers: Object.fromEntries(response.headers), body: await response.text() }
  }

  /** Logs in and returns a client that sends the token. */
  async loginAs (email: string, password: string): Promise<Api> {
    const response = await this.post('/v1/auth/token', { email, password })
    this.t.equal(response.status, 200, `${email} logs in`)
    return this.withToken(response.body.access_token)
  }

  async request (options: InjectOptions & { url: string }): Promise<ApiResponse> {
    const validator = validatorFor(this.app)
    const response = await this.send(options)
    const method = (options.method ?? 'GET').toString().toUpperCase()
    const problems = validator.problems({
      method,
      path: options.url.split('?')[0]!,
      status: response.statusCode,
      contentType: response.headers['content-type']?.toString(),
      body: response.body
    })
    this.t.same(problems, [], `${method} ${options.url} → ${response.statusCode} matches the OpenAPI document`)
    const isJson = /[/+]json\b/.test(String(response.headers['content-type'])) && response.body !== ''
    return { status: response.statusCode, headers: response.headers, body: isJson ? JSON.parse(response.body) : undefined, text: response.body }
  }

  get (url: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request({ method: 'GET', url, headers })
  }

  post (url: string, payload: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request({ method: 'POST', url, payload: payload as InjectOptions['payload'], headers })
  }

  put (url: string, payload: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request({ method: 'PUT', url, payload: payload as InjectOptions['payload'], headers })
  }

  patch (url: string, payload: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request({ method: 'PATCH', url, payload: payload as InjectOptions['payload'], headers })
  }

  delete (url: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request({ method: 'DELETE', url, headers })
  }
}

/** A signing key set made for this test process, as JWT_SIGNING_KEYS would carry it. */
export const TEST_SIGNING_KEYS = JSON.stringify(await prependNewKey(undefined))
/** A data key ring for this test process: replicas on one database must share it, as they share the signing keys. */
export const TEST_DATA_KEYS = JSON.stringify(prependNewDataKey(undefined))
export const TEST_OUTBOX_DIR = join(tmpdir(), `users-service-test-outbox-${process.pid}`)
export const ADMIN = { email: 'admin@example.com', password: 'admin password 1' }

export interface TestApp {
  app: FastifyInstance
  /** Anonymous. */
  api: Api
  /** Logged in as the bootstrap admin. */
  admin: Api
  adminId: string
  logs: LogCapture
  /** Signs a new user up and logs them in. */
  signUp (overrides?: Record<string, unknown>): Promise<{ user: any, api: Api, token: string, refreshToken: string }>
}

/** The real app on the given database with a bootstrap admin, closed when the test ends. */
export async function buildTestApp (t: Test, database: DatabaseSettings, env: Record<string, string> = {}, options: BuildOptions = {}): Promise<TestApp> {
  const logs = new LogCapture()
  const config = loadConfig({
    LOG_LEVEL: 'info',
    JWT_SIGNING_KEYS: TEST_SIGNING_KEYS,
    DATA_ENCRYPTION_KEYS: TEST_DATA_KEYS,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    // Limits far above what a test sends, unless the test is about them.
    RATE_LIMIT_MAX: '1000000',
    AUTH_RATE_LIMIT_MAX: '1000000',
    ...cheapHashingUnlessProduction(env),
    // A test process is busier than a server (many apps, tap): no load shedding unless the test is about it.
    PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
    PRESSURE_MAX_EVENT_LOOP_UTILIZATION: '0',
    // Mail a test causes without an SMTP server of its own lands here, never in the repository.
    MAIL_OUTBOX_DIR: TEST_OUTBOX_DIR,
    ...env
  })
  const app = buildApp({ ...config, database }, { logStream: logs, ...options })
  t.teardown(() => app.close())
  await app.ready()
  const api = new Api(t, app)
  const admin = await api.loginAs(ADMIN.email, ADMIN.password)
  const adminId = (await admin.get('/v1/users/me')).body.id
  async function signUp (overrides: Record<string, unknown> = {}) {
    const body = newUser(overrides)
    const user = (await api.post('/v1/users', body)).body
    const login = await api.post('/v1/auth/token', { email: body.email, password: body.password })
    return { user, token: login.body.access_token as string, refreshToken: login.body.refresh_token as string, api: api.withToken(login.body.access_token) }
  }
  return { app, api, admin, adminId, logs, signUp }
}

/** An access token of a new session of this user, minted without a login (no argon2 verification). */
export async function tokenFor (app: FastifyInstance, userId: string, role: Role = 'user'): Promise<string> {
  const { sessionId } = await startSession(app.domain, SYSTEM, { principal: { id: userId, role } }, { ttlSeconds: 3600, userAgent: 'test' })
  return app.issuePersonToken({ userId, role, sessionId })
}

let counter = 0
/** A valid sign-up body with a unique email. */
export function newUser (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1
  return { email: `user${counter}.${process.pid}@example.com`, name: `User ${counter}`, password: 'correct horse battery', ...overrides }
}
