import type { Actor } from '../access/actor.ts'
import { assertProvisioner } from '../access/rules.ts'
import { GROUP_SCHEMA, USER_SCHEMA } from './names.ts'

/** The largest page of a listing, and the default one (RFC 7644 §3.4.2.4). */
export const MAX_PAGE_SIZE = 200
export const DEFAULT_PAGE_SIZE = 100

const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'
const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType'
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema'

/** RFC 7643 §5, with RFC 9865's `pagination`. */
export function serviceProviderConfig (actor: Actor, base: string): Record<string, unknown> {
  assertProvisioner(actor)
  return {
    schemas: [SPC_SCHEMA],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_PAGE_SIZE },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    pagination: { cursor: true, index: true, defaultPaginationMethod: 'index', defaultPageSize: DEFAULT_PAGE_SIZE, maxPageSize: MAX_PAGE_SIZE, cursorTimeout: 0 },
    authenticationSchemes: [{
      type: 'oauthbearertoken',
      name: 'OAuth Bearer Token',
      description: 'A machine client\'s access token (client credentials grant) or API key holding the scim scope.',
      specUri: 'https://www.rfc-editor.org/rfc/rfc6750',
      primary: true
    }],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` }
  }
}

export function resourceTypes (actor: Actor, base: string): Array<Record<string, unknown>> {
  assertProvisioner(actor)
  return [
    { schemas: [RESOURCE_TYPE_SCHEMA], id: 'User', name: 'User', endpoint: '/Users', description: 'A user of this service', schema: USER_SCHEMA, schemaExtensions: [], meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` } },
    { schemas: [RESOURCE_TYPE_SCHEMA], id: 'Group', name: 'Group', endpoint: '/Groups', description: 'A role: admin or user', schema: GROUP_SCHEMA, schemaExtensions: [], meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` } }
  ]
}

interface AttributeOptions {
  type?: 'string' | 'boolean' | 'complex' | 'dateTime' | 'reference'
  multiValued?: boolean
  required?: boolean
  caseExact?: boolean
  mutability?: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly'
  returned?: 'always' | 'never' | 'default' | 'request'
  uniqueness?: 'none' | 'server' | 'global'
  canonicalValues?: string[]
  referenceTypes?: string[]
  subAttributes?: Array<Record<string, unknown>>
}

function attribute (name: string, description: string, options: AttributeOptions = {}): Record<string, unknown> {
  const type = options.type ?? 'string'
  return {
    name,
    type,
    multiValued: options.multiValued ?? false,
    description,
    required: options.required ?? false,
    ...(type === 'string' || type === 'reference' ? { caseExact: options.caseExact ?? false } : {}),
    mutability: options.mutability ?? 'readWrite',
    returned: options.returned ?? 'default',
    uniqueness: options.uniqueness ?? 'none',
    ...(options.canonicalValues === undefined ? {} : { canonicalValues: options.canonicalValues }),
    ...(options.referenceTypes === undefined ? {} : { referenceTypes: options.referenceTypes }),
    ...(options.subAttributes === undefined ? {} : { subAttributes: options.subAttributes })
  }
}

const USER_ATTRIBUTES = [
  attribute('userName', 'The user\'s email, lower-cased: the same value as the one email.', { required: true, uniqueness: 'server' }),
  attribute('externalId', 'The identity provider\'s immutable id for the user; unique.', { caseExact: true, uniqueness: 'server' }),
  attribute('name', 'The user\'s name; formatted is the name this service shows.', {
    type: 'complex',
    subAttributes: [
      attribute('formatted', 'The full name; from givenName and familyName when absent.'),
      attribute('givenName', 'The given name.'),
      attribute('familyName', 'The family name.')
    ]
  }),
  attribute('displayName', 'The name to display; name.formatted when not set.'),
  attribute('emails', 'The one email, of type work and primary: the userName.', {
    type: 'complex',
    multiValued: true,
    subAttributes: [
      attribute('value', 'The address.'),
      attribute('type', 'Always work.', { canonicalValues: ['work'] }),
      attribute('primary', 'Always true.', { type: 'boolean' })
    ]
  }),
  attribute('active', 'false disables the user: their sessions end and logins are refused.', { type: 'boolean' }),
  attribute('password', 'Write-only; stored as an argon2id hash. A user without one sets one by a password reset.', { mutability: 'writeOnly', returned: 'never' }),
  attribute('groups', 'The user\'s role, as its group.', {
    type: 'complex',
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [
      attribute('value', 'The group\'s id.', { mutability: 'readOnly' }),
      attribute('display', 'The role.', { mutability: 'readOnly' }),
      attribute('$ref', 'The group.', { type: 'reference', referenceTypes: ['Group'], mutability: 'readOnly' })
    ]
  })
]

const GROUP_ATTRIBUTES = [
  attribute('displayName', 'The role: admin or user. Fixed.', { required: true, mutability: 'readOnly', uniqueness: 'server' }),
  attribute('members', 'The role\'s users; joining a group gives its role.', {
    type: 'complex',
    multiValued: true,
    subAttributes: [
      attribute('value', 'The user\'s id.', { mutability: 'immutable' }),
      attribute('display', 'The user\'s email.', { mutability: 'readOnly' }),
      attribute('$ref', 'The user.', { type: 'reference', referenceTypes: ['User'], mutability: 'readOnly' })
    ]
  })
]

/** RFC 7643 §7: the attributes this service keeps, as it keeps them. */
export function schemaResources (actor: Actor, base: string): Array<Record<string, unknown>> {
  assertProvisioner(actor)
  return [
    { schemas: [SCHEMA_SCHEMA], id: USER_SCHEMA, name: 'User', description: 'User Account', attributes: USER_ATTRIBUTES, meta: { resourceType: 'Schema', location: `${base}/Schemas/${USER_SCHEMA}` } },
    { schemas: [SCHEMA_SCHEMA], id: GROUP_SCHEMA, name: 'Group', description: 'A role', attributes: GROUP_ATTRIBUTES, meta: { resourceType: 'Schema', location: `${base}/Schemas/${GROUP_SCHEMA}` } }
  ]
}
