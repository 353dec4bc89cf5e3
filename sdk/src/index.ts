// The generated client names fetch's DOM types (BodyInit, …): Node projects without lib "dom" get them from here.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { createClient, createConfig, type Client } from './generated/client/index.js'
import { UsersApi } from './generated/sdk.gen.js'
import type { Problem, TokenResponse, ValidationProblem } from './generated/types.gen.js'
import { clientCredentialsTokens, type ClientCredentialsOptions, type TokenSource } from './client-credentials.js'

export type { ClientCredentialsOptions } from './client-credentials.js'

export { UsersApi } from './generated/sdk.gen.js'
export type * from './generated/types.gen.js'

/** A failed call: the service's RFC 9457 problem details, typed, with the HTTP status. */
export class ProblemError extends Error {
  override name = 'ProblemError'

  readonly status: number
  readonly problem: Problem | ValidationProblem
  readonly response: Response

  constructor (status: number, problem: Problem | ValidationProblem, response: Response) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`)
    this.status = status
    this.problem = problem
    this.response = response
  }

  /** The stable problem type, e.g. `/problems/email-taken`. */
  get type (): string {
    return this.problem.type
  }

  /** One entry per failing field, for validation problems (400, 422); empty otherwise. */
  get fieldErrors (): NonNullable<ValidationProblem['errors']> {
    return 'errors' in this.problem && this.problem.errors !== undefined ? this.problem.errors : []
  }
}

/**
 * A login whose password was right, for an account with a second factor: finish it with
 * `completeMfa({ body: { mfa_token: error.mfaToken, code } })` (or a WebAuthn `credential`).
 */
export class MfaRequiredError extends ProblemError {
  override name = 'MfaRequiredError'

  /** Single-use, for a few minutes. */
  get mfaToken (): string {
    return (this.problem as { mfa_token?: string }).mfa_token ?? ''
  }

  /** What the user can finish with: `totp`, `webauthn`, `recovery_code`. */
  get factors (): string[] {
    return (this.problem as { factors?: string[] }).factors ?? []
  }
}

/**
 * RFC 9470: the access token is valid, but this operation needs a login with a second
 * factor (`acr` aal2). A refresh would not help (the session keeps how it was started):
 * log in again with a second factor.
 */
export class StepUpRequiredError extends ProblemError {
  override name = 'StepUpRequiredError'
  readonly acrValues = 'aal2'
}

const STEP_UP = /error="insufficient_user_authentication"/

function problemError (status: number, problem: Problem | ValidationProblem, response: Response): ProblemError {
  if (problem.type === '/problems/mfa-required') return new MfaRequiredError(status, problem, response)
  if (problem.type === '/problems/mfa-required-for-role') return new StepUpRequiredError(status, problem, response)
  return new ProblemError(status, problem, response)
}

function isProblem (body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && typeof (body as Problem).type === 'string' && typeof (body as Problem).status === 'number'
}

export interface UsersClientOptions {
  /** Where the service is, e.g. `https://users.example.com`. */
  baseUrl: string
  /** The bearer token for protected operations, or a function asked before each request (return undefined for none). */
  token?: string | (() => string | undefined | Promise<string | undefined>)
  /**
   * A refresh token: when the service refuses the access token (it expired), the client
   * exchanges this for new tokens once and retries the request. Each exchange rotates the
   * refresh token; `onTokens` hears of every new pair, to store them.
   */
  refreshToken?: string
  onTokens?: (tokens: TokenResponse) => void
  /**
   * Act as a machine client: the SDK gets tokens with the client credentials grant (a
   * secret, or a private key for `private_key_jwt`), caches each and renews it before it
   * expires; a token the service refuses is replaced once per request.
   */
  clientCredentials?: ClientCredentialsOptions
  /** A fetch of your own (retries, proxies, tests); the global fetch by default. */
  fetch?: typeof fetch
}

const TOKEN_PATH = '/v1/auth/token'

/**
 * A fetch that, on a 401, refreshes the access token and retries the request once.
 * Concurrent 401s share one exchange: presenting a refresh token twice would be taken
 * for theft and end the session.
 */
function refreshingFetch (baseUrl: string, refreshToken: string, send: typeof fetch, onTokens: (tokens: TokenResponse) => void): typeof fetch {
  let current = refreshToken
  let exchange: Promise<TokenResponse | undefined> | undefined

  async function refresh (): Promise<TokenResponse | undefined> {
    const response = await send(new URL(TOKEN_PATH, baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: current })
    })
    if (!response.ok) return undefined
    const tokens = await response.json() as TokenResponse
    current = tokens.refresh_token ?? current
    onTokens(tokens)
    return tokens
  }

  return async (input, init) => {
    const request = new Request(input, init)
    const retry = request.clone()
    const response = await send(request)
    // A 401 asking for a stronger login is not an expired token: refreshing would keep the same session.
    if (response.status !== 401 || new URL(request.url).pathname === TOKEN_PATH || STEP_UP.test(response.headers.get('www-authenticate') ?? '')) return response
    exchange ??= refresh().finally(() => { exchange = undefined })
    const tokens = await exchange
    if (tokens === undefined) return response
    retry.headers.set('authorization', `Bearer ${tokens.access_token}`)
    return send(retry)
  }
}

/**
 * A client for one service: every operation of the users API as a method. Failed calls
 * throw a ProblemError; successful ones resolve to `{ data, response }`, so headers such
 * as `ETag` and `Link` are at hand.
 */
export function createUsersApi ({ baseUrl, token, refreshToken, onTokens, clientCredentials, fetch }: UsersClientOptions): UsersApi {
  let refreshed: string | undefined
  const send = fetch ?? globalThis.fetch
  if (clientCredentials !== undefined) return clientApi(baseUrl, clientCredentials, send)
  const transport = refreshToken === undefined
    ? send
    : refreshingFetch(baseUrl, refreshToken, send, (tokens) => { refreshed = tokens.access_token; onTokens?.(tokens) })
  const auth = async (): Promise<string | undefined> => refreshed ?? (typeof token === 'function' ? await token() : token)
  return apiOver(baseUrl, transport, auth)
}

async function problemOf (response: Response): Promise<Error> {
  const body: unknown = await response.json().catch(() => undefined)
  return isProblem(body) ? problemError(response.status, body, response) : new Error(`token endpoint answered ${response.status}`)
}

/** The API as a machine client: its fetch replaces a refused client token once and retries. */
function clientApi (baseUrl: string, credentials: ClientCredentialsOptions, send: typeof fetch): UsersApi {
  const tokens: TokenSource = clientCredentialsTokens(new URL(TOKEN_PATH, baseUrl).href, new URL('/.well-known/oauth-authorization-server', baseUrl).href, credentials, send, problemOf)
  const transport: typeof fetch = async (input, init) => {
    const request = new Request(input, init)
    const retry = request.clone()
    const response = await send(request)
    if (response.status !== 401) return response
    tokens.forget()
    retry.headers.set('authorization', `Bearer ${await tokens.token()}`)
    return send(retry)
  }
  return apiOver(baseUrl, transport, () => tokens.token())
}

function apiOver (baseUrl: string, transport: typeof fetch, auth: () => Promise<string | undefined>): UsersApi {
  const client: Client = createClient(createConfig({ baseUrl, throwOnError: true, fetch: transport, auth }))
  client.interceptors.error.use((error, response) => response !== undefined && isProblem(error) ? problemError(response.status, error, response) : error)
  return new UsersApi({ client })
}
