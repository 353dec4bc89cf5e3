import type { LoadOptions } from '../lib/load.ts'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

function basic (client: { id: string, secret: string }): string {
  return `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`
}

/** The client credentials grant as a service gets its token: a form, the secret in HTTP Basic. */
export function clientCredentialsGrant (client: { id: string, secret: string }, load: LoadOptions): LoadOptions {
  return {
    ...load,
    method: 'POST',
    headers: { ...FORM, authorization: basic(client) },
    body: 'grant_type=client_credentials&scope=users%3Aread'
  }
}

/** The same grant with private_key_jwt (RFC 7523): each request a fresh assertion, taken from those signed up front. */
export function keyClientGrant (assertions: string[], load: LoadOptions): LoadOptions {
  const fresh = assertions.values()
  return {
    ...load,
    method: 'POST',
    headers: FORM,
    request: {
      setupRequest: (request) => ({
        ...request,
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'users:read', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: fresh.next().value ?? '' }).toString()
      })
    }
  }
}

/** Introspection (RFC 7662) of a live access token, as a resource server asks, the secret in HTTP Basic. */
export function introspection (client: { id: string, secret: string }, token: string, load: LoadOptions): LoadOptions {
  return { ...load, method: 'POST', headers: { ...FORM, authorization: basic(client) }, body: new URLSearchParams({ token }).toString() }
}
