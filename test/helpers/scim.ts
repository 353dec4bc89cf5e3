import { randomUUID } from 'node:crypto'
import type { Api } from './app.ts'

export const SCIM_JSON = { 'content-type': 'application/scim+json' }
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error'

/** An identity provider's connection, as admins set one up: a client holding `scim`, used through an API key. */
export async function scimProvider (admin: Api, scopes = ['scim']): Promise<{ api: Api, clientId: string, key: string }> {
  const client = (await admin.post('/v1/clients', { name: `idp-${randomUUID()}`, scopes })).body
  const key = (await admin.post(`/v1/clients/${client.id as string}/api-keys`, { name: 'scim' })).body
  return { api: admin.withToken(key.key), clientId: client.id, key: key.key }
}

/** A User resource as Okta's SCIM 2.0 test sends one. */
export function oktaUser (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const id = randomUUID()
  return {
    schemas: [USER_SCHEMA],
    userName: `okta.${id}@example.com`,
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    emails: [{ primary: true, value: `okta.${id}@example.com`, type: 'work' }],
    displayName: 'Ada Lovelace',
    externalId: `00u${id.replaceAll('-', '').slice(0, 17)}`,
    active: true,
    ...overrides
  }
}

export function patchOp (...operations: Array<Record<string, unknown>>): string {
  return JSON.stringify({ schemas: [PATCH_OP], Operations: operations })
}
