/** A machine client's own credentials, for the client credentials grant (RFC 6749 §4.4). */
export interface ClientCredentialsOptions {
  clientId: string
  /** For a client registered with `client_secret_basic` (the default) or `client_secret_post`. */
  clientSecret?: string
  /** How the secret travels: HTTP Basic (the default) or in the body. */
  authMethod?: 'client_secret_basic' | 'client_secret_post'
  /**
   * For a `private_key_jwt` client: an Ed25519 or P-256 private key (WebCrypto) whose
   * public half is in the client's `jwks`. Each token request sends a new assertion.
   */
  privateKey?: CryptoKey
  /** The `kid` of that key in the client's `jwks`, when it has one. */
  keyId?: string
  /**
   * The assertion's `aud`: the service's issuer, which the SDK reads from its RFC 8414
   * metadata unless given here.
   */
  audience?: string
  /** The scopes to ask for, space-separated; all of the client's when absent. */
  scope?: string
  /** How long before its expiry a token is renewed (seconds, default 30). */
  renewBeforeSeconds?: number
  /** The clock, in milliseconds (tests). */
  now?: () => number
}

export interface TokenSource {
  /** A token that is valid for a while yet: the cached one, or a new one. Concurrent callers share one request. */
  token (): Promise<string>
  /** Drops the cached token (the service refused it): the next call gets a new one. */
  forget (): void
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

function base64url (bytes: ArrayBuffer | Uint8Array): string {
  let text = ''
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined for Basic.
function formEncoded (text: string): string {
  return new URLSearchParams({ v: text }).toString().slice(2)
}

/** An RFC 7523 client assertion, signed with WebCrypto: a JWS of Ed25519 (EdDSA) or P-256 (ES256). */
async function assertion (options: ClientCredentialsOptions & { privateKey: CryptoKey }, audience: string, nowSeconds: number): Promise<string> {
  const ed25519 = options.privateKey.algorithm.name === 'Ed25519'
  const header = { alg: ed25519 ? 'EdDSA' : 'ES256', typ: 'JWT', ...(options.keyId === undefined ? {} : { kid: options.keyId }) }
  const claims = { iss: options.clientId, sub: options.clientId, aud: audience, jti: crypto.randomUUID(), iat: nowSeconds, exp: nowSeconds + 60 }
  const input = `${base64url(new TextEncoder().encode(JSON.stringify(header)))}.${base64url(new TextEncoder().encode(JSON.stringify(claims)))}`
  const algorithm = ed25519 ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' }
  // WebCrypto's ECDSA signature is r‖s, which is what JWS wants.
  return `${input}.${base64url(await crypto.subtle.sign(algorithm, options.privateKey, new TextEncoder().encode(input)))}`
}

async function tokenRequest (options: ClientCredentialsOptions, audience: () => Promise<string>, nowSeconds: number): Promise<RequestInit> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...(options.scope === undefined ? {} : { scope: options.scope }) })
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (options.privateKey !== undefined) {
    body.set('client_assertion_type', ASSERTION_TYPE)
    body.set('client_assertion', await assertion({ ...options, privateKey: options.privateKey }, await audience(), nowSeconds))
  } else if (options.clientSecret === undefined) {
    throw new Error('clientCredentials needs a clientSecret or a privateKey')
  } else if (options.authMethod === 'client_secret_post') {
    body.set('client_id', options.clientId)
    body.set('client_secret', options.clientSecret)
  } else {
    headers.authorization = `Basic ${btoa(`${formEncoded(options.clientId)}:${formEncoded(options.clientSecret)}`)}`
  }
  return { method: 'POST', headers, body }
}

/**
 * Fetches client tokens at the token endpoint, caches each until shortly before it
 * expires, and renews it then. `refused` turns an error response into what is thrown.
 */
export function clientCredentialsTokens (tokenUrl: string, metadataUrl: string, options: ClientCredentialsOptions, send: typeof fetch, refused: (response: Response) => Promise<Error>): TokenSource {
  const now = options.now ?? Date.now
  let issuer: Promise<string> | undefined
  // Read once: the issuer is what every assertion is addressed to.
  const audience = (): Promise<string> => options.audience !== undefined
    ? Promise.resolve(options.audience)
    : (issuer ??= send(metadataUrl).then(async (response) => {
        if (!response.ok) throw await refused(response)
        return (await response.json() as { issuer: string }).issuer
      }).catch((error: unknown) => { issuer = undefined; throw error }))
  const renewBeforeMs = (options.renewBeforeSeconds ?? 30) * 1000
  let cached: { token: string, renewAt: number } | undefined
  let pending: Promise<string> | undefined

  async function fetchToken (): Promise<string> {
    const requestedAt = now()
    const response = await send(tokenUrl, await tokenRequest(options, audience, Math.floor(requestedAt / 1000)))
    if (!response.ok) throw await refused(response)
    const { access_token: token, expires_in: expiresIn } = await response.json() as { access_token: string, expires_in: number }
    cached = { token, renewAt: requestedAt + Math.max(0, expiresIn * 1000 - renewBeforeMs) }
    return token
  }

  return {
    async token () {
      if (cached !== undefined && now() < cached.renewAt) return cached.token
      pending ??= fetchToken().finally(() => { pending = undefined })
      return pending
    },
    forget () {
      cached = undefined
    }
  }
}
