// The generated client names fetch's DOM types (BodyInit, …): Node projects without lib "dom" get them from here.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { createClient, createConfig, type Client } from './generated/client/index.js'
import { UsersApi } from './generated/sdk.gen.js'
import type { Problem, ValidationProblem } from './generated/types.gen.js'

export { UsersApi } from './generated/sdk.gen.js'
export type * from './generated/types.gen.js'

/** A failed call: the service's RFC 9457 problem details, typed, with the HTTP status. */
export class ProblemError extends Error {
  override name = 'ProblemError'

  constructor (readonly status: number, readonly problem: Problem | ValidationProblem, readonly response: Response) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`)
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

function isProblem (body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && typeof (body as Problem).type === 'string' && typeof (body as Problem).status === 'number'
}

export interface UsersClientOptions {
  /** Where the service is, e.g. `https://users.example.com`. */
  baseUrl: string
  /** The bearer token for protected operations, or a function asked before each request (return undefined for none). */
  token?: string | (() => string | undefined | Promise<string | undefined>)
  /** A fetch of your own (retries, proxies, tests); the global fetch by default. */
  fetch?: typeof fetch
}

/**
 * A client for one service: every operation of the users API as a method. Failed calls
 * throw a ProblemError; successful ones resolve to `{ data, response }`, so headers such
 * as `ETag` and `Link` are at hand.
 */
export function createUsersApi ({ baseUrl, token, fetch }: UsersClientOptions): UsersApi {
  const client: Client = createClient(createConfig({
    baseUrl,
    throwOnError: true,
    ...(fetch === undefined ? {} : { fetch }),
    ...(token === undefined ? {} : { auth: typeof token === 'function' ? async () => await token() : token })
  }))
  client.interceptors.error.use((error, response) => response !== undefined && isProblem(error) ? new ProblemError(response.status, error, response) : error)
  return new UsersApi({ client })
}
