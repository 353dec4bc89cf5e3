/** The schema URNs of RFC 7643 and RFC 7644 this service speaks. */
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group'
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
export const ERROR_MESSAGE = 'urn:ietf:params:scim:api:messages:2.0:Error'

/**
 * An attribute path as this service compares it: SCIM names are case-insensitive, and a
 * path may carry its schema's URN in front (`urn:…:User:userName`).
 */
export function canonicalPath (path: string): string {
  const lower = path.trim().toLowerCase()
  for (const urn of [USER_SCHEMA, GROUP_SCHEMA]) {
    const prefix = `${urn.toLowerCase()}:`
    if (lower.startsWith(prefix)) return lower.slice(prefix.length)
  }
  return lower
}
