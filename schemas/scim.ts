import Type, { type TSchema } from 'typebox'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../src/scim/discovery.ts'
import { refTo } from './ref.ts'

const SCIM = 'application/scim+json'

const Schemas = Type.Array(Type.String(), { description: 'The schema URNs of the resource or message.' })
const DateTime = Type.Unsafe<Date | string>(Type.String({ format: 'date-time' }))

// Each member optional too: `attributes=meta.version` asks for just one.
const Meta = Type.Object({
  resourceType: Type.Optional(Type.String()),
  created: Type.Optional(DateTime),
  lastModified: Type.Optional(DateTime),
  location: Type.Optional(Type.String({ description: 'The resource\'s URI: absolute under PUBLIC_URL when it is set.' })),
  version: Type.Optional(Type.String({ description: 'The ETag, e.g. `"3"`: send it as If-Match.' }))
}, { additionalProperties: false })

// Also `$ref`, the resource's URI: a member of that name cannot be declared, as schema tools read it as a reference.
const Reference = Type.Object({ value: Type.String(), display: Type.Optional(Type.String()) }, { additionalProperties: true, description: 'value, display, and $ref: the URI of the resource.' })

// Every member but schemas and id is optional: `attributes` and `excludedAttributes` choose.
export const ScimUser = Type.Object({
  schemas: Schemas,
  id: Type.String(),
  externalId: Type.Optional(Type.String()),
  userName: Type.Optional(Type.String({ description: 'The email, lower-cased.' })),
  name: Type.Optional(Type.Object({ formatted: Type.Optional(Type.String()), givenName: Type.Optional(Type.String()), familyName: Type.Optional(Type.String()) }, { additionalProperties: false })),
  displayName: Type.Optional(Type.String()),
  emails: Type.Optional(Type.Array(Type.Object({ value: Type.Optional(Type.String()), type: Type.Optional(Type.String()), primary: Type.Optional(Type.Boolean()) }, { additionalProperties: false }))),
  active: Type.Optional(Type.Boolean()),
  groups: Type.Optional(Type.Array(Reference)),
  meta: Type.Optional(Meta)
}, { $id: 'ScimUser', additionalProperties: false, description: 'A SCIM User (RFC 7643 §4.1): `userName` and the one work email are the user\'s email, `active` its status, `groups` its role.' })

export const ScimGroup = Type.Object({
  schemas: Schemas,
  id: Type.String(),
  displayName: Type.Optional(Type.String({ description: '`admin` or `user`.' })),
  members: Type.Optional(Type.Array(Reference)),
  meta: Type.Optional(Meta)
}, { $id: 'ScimGroup', additionalProperties: false, description: 'A SCIM Group (RFC 7643 §4.2): one of the two roles.' })

const listMembers = {
  schemas: Schemas,
  totalResults: Type.Optional(Type.Integer({ minimum: 0, description: 'How many resources match, whatever the page; by cursor, on the first page only.' })),
  itemsPerPage: Type.Integer({ minimum: 0 }),
  startIndex: Type.Optional(Type.Integer({ minimum: 1, description: 'With index pagination.' })),
  nextCursor: Type.Optional(Type.String({ description: 'With cursor pagination (RFC 9865): where the next page starts; absent on the last page.' }))
}

export const ScimUserList = Type.Object({ ...listMembers, Resources: Type.Array(refTo(ScimUser)) }, { $id: 'ScimUserList', additionalProperties: false, description: 'A ListResponse (RFC 7644 §3.4.2) of Users.' })
export const ScimGroupList = Type.Object({ ...listMembers, Resources: Type.Array(refTo(ScimGroup)) }, { $id: 'ScimGroupList', additionalProperties: false, description: 'A ListResponse of Groups.' })

// The discovery documents are the service's own constants: described, not re-validated member by member.
const discoveryDocument = (id: string, description: string) => Type.Object({ schemas: Schemas }, { $id: id, additionalProperties: true, description })
export const ScimServiceProviderConfig = discoveryDocument('ScimServiceProviderConfig', 'RFC 7643 §5: PATCH, filters and ETags are supported; bulk, sort and changePassword are not; pagination by index and by cursor (RFC 9865).')
export const ScimDefinitionList = Type.Object({ ...listMembers, Resources: Type.Array(Type.Object({ schemas: Schemas }, { additionalProperties: true })) }, { $id: 'ScimDefinitionList', additionalProperties: false, description: 'A ListResponse of ResourceTypes or Schemas (RFC 7643 §6, §7).' })
export const ScimDefinition = discoveryDocument('ScimDefinition', 'One ResourceType or Schema.')

export const ScimError = Type.Object({
  schemas: Schemas,
  status: Type.String({ description: 'The HTTP status, as a string.' }),
  scimType: Type.Optional(Type.Union(['uniqueness', 'invalidFilter', 'invalidValue', 'invalidPath', 'noTarget', 'mutability', 'invalidSyntax', 'tooMany', 'invalidCursor'].map((kind) => Type.Literal(kind)))),
  detail: Type.String()
}, {
  $id: 'ScimError',
  additionalProperties: false,
  description: 'A SCIM error (RFC 7644 §3.12). Under /scim/v2 every error has this form instead of RFC 9457 problem details.',
  examples: [{ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness', detail: 'A user with this email already exists.' }]
})

// Bodies are read by the SCIM layer itself: attribute names are case-insensitive and
// providers deviate from the schemas in ways it accepts (RFC 7644 §3.3, §3.5.2).
export const ScimResourceBody = Type.Object({}, { $id: 'ScimResourceBody', additionalProperties: true, description: 'A User resource: userName is required; attribute names in any case.' })
export const ScimPatchBody = Type.Object({
  schemas: Type.Optional(Schemas),
  Operations: Type.Optional(Type.Array(Type.Object({ op: Type.String(), path: Type.Optional(Type.String()), value: Type.Optional(Type.Unknown()) }, { additionalProperties: true })))
}, { $id: 'ScimPatchBody', additionalProperties: true, description: 'A PatchOp (RFC 7644 §3.5.2): `op` add, replace or remove in any case.' })

export const ScimListQuery = Type.Object({
  filter: Type.Optional(Type.String({ description: 'RFC 7644 §3.4.2.2: `eq ne co sw ew pr gt ge lt le`, `and or not`, parentheses, `emails[type eq "work"]`.' })),
  startIndex: Type.Optional(Type.Integer({ description: '1-based; less than 1 is read as 1.' })),
  count: Type.Optional(Type.Integer({ minimum: 0, description: `Default ${DEFAULT_PAGE_SIZE}; more than ${MAX_PAGE_SIZE} is read as ${MAX_PAGE_SIZE}; 0 gives only totalResults.` })),
  cursor: Type.Optional(Type.String({ maxLength: 500, description: 'RFC 9865: empty for the first page, then a nextCursor.' })),
  attributes: Type.Optional(Type.String({ maxLength: 1000 })),
  excludedAttributes: Type.Optional(Type.String({ maxLength: 1000 }))
})

export const ScimProjection = Type.Object({
  attributes: Type.Optional(Type.String({ maxLength: 1000 })),
  excludedAttributes: Type.Optional(Type.String({ maxLength: 1000 }))
})

export const ScimIdParams = Type.Object({ id: Type.String({ maxLength: 200 }) })

/** A SCIM response: application/scim+json, by reference to a shared schema. */
export function scimResponse (schema: TSchema, description: string, headers: Record<string, unknown> = {}): Record<string, unknown> {
  return { description, content: { [SCIM]: { schema: refTo(schema) } }, headers }
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'A SCIM error: invalidFilter, invalidValue, invalidPath, noTarget, mutability, invalidSyntax, tooMany or invalidCursor',
  401: 'No valid access token or API key',
  403: 'Not a client holding scim (with an insufficient_scope challenge), or groups being created or deleted',
  404: 'No such resource',
  409: 'uniqueness: the userName or externalId is taken; or the last active admin would go',
  412: 'If-Match does not match the current version',
  413: 'The body is too large',
  415: 'Not application/scim+json or application/json',
  429: 'Too many requests',
  500: 'An unexpected error',
  503: 'Unavailable for a moment: retry after Retry-After'
}

/** SCIM error responses for these statuses. */
export function scimErrors (...statuses: number[]): Record<number, Record<string, unknown>> {
  return Object.fromEntries(statuses.map((status) => [status, scimResponse(ScimError, ERROR_DESCRIPTIONS[status] ?? 'A SCIM error')]))
}
