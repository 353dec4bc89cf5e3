import { Writable } from 'node:stream'
import type { FastifyInstance, InjectOptions } from 'fastify'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import type { DatabaseSettings } from '../../src/db/connect.js'
import { SpecValidator } from './spec-validator.js'

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

/** `app.inject`, with every response checked against the app's OpenAPI document. */
export class Api {
  private validator: SpecValidator | undefined

  constructor (private readonly t: Test, readonly app: FastifyInstance) {}

  async request (options: InjectOptions & { url: string }): Promise<ApiResponse> {
    this.validator ??= new SpecValidator(this.app.swagger() as never)
    const response = await this.app.inject(options)
    const method = (options.method ?? 'GET').toString().toUpperCase()
    const problems = this.validator.problems({
      method,
      path: options.url.split('?')[0]!,
      status: response.statusCode,
      contentType: response.headers['content-type']?.toString(),
      body: response.body
    })
    this.t.same(problems, [], `${method} ${options.url} → ${response.statusCode} matches the OpenAPI document`)
    const isJson = /json/.test(String(response.headers['content-type'])) && response.body !== ''
    return { status: response.statusCode, headers: response.headers, body: isJson ? response.json() : undefined, text: response.body }
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

export interface TestApp {
  app: FastifyInstance
  api: Api
  logs: LogCapture
}

/** The real app on the given database, closed when the test ends. */
export async function buildTestApp (t: Test, database: DatabaseSettings, env: Record<string, string> = {}): Promise<TestApp> {
  const logs = new LogCapture()
  const config = loadConfig({ LOG_LEVEL: 'info', ...env })
  const app = buildApp({ ...config, database }, { logStream: logs })
  t.teardown(() => app.close())
  await app.ready()
  return { app, api: new Api(t, app), logs }
}

let counter = 0
/** A valid sign-up body with a unique email. */
export function newUser (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1
  return { email: `user${counter}.${process.pid}@example.com`, name: `User ${counter}`, password: 'correct horse battery', ...overrides }
}
