import type { LoadOptions } from '../lib/load.ts'

/** The client credentials grant as a service gets its token: a form, the secret in HTTP Basic. */
export function clientCredentialsGrant (client: { id: string, secret: string }, load: LoadOptions): LoadOptions {
  return {
    ...load,
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`
    },
    body: 'grant_type=client_credentials&scope=users%3Aread'
  }
}
