import { accessTokens as remembering, type AccessTokenOptions, type AccessTokens } from '../../../src/identity/access-tokens.ts'

/** The ledger's service without the token-verdict cache: every request verifies its token's signature. */
export * from '../../../src/identity/access-tokens.ts'
export function accessTokens (options: AccessTokenOptions): AccessTokens {
  return remembering({ ...options, cacheSize: 0 })
}
