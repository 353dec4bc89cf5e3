import { groupOfRole, type GroupWithMembers } from '../scim/groups.ts'
import { ERROR_MESSAGE, GROUP_SCHEMA, LIST_RESPONSE, USER_SCHEMA, canonicalPath } from '../scim/names.ts'
import type { ScimUserRow } from '../scim/users.ts'
import { etagFor } from './etag.ts'
import type { ProblemError } from './problem-error.ts'

export const SCIM_MEDIA_TYPE = 'application/scim+json'

/** Where SCIM resources live: absolute under PUBLIC_URL when it is set, else relative to the service's origin. */
export function scimBase (publicUrl: string | undefined): string {
  return `${publicUrl?.replace(/\/$/, '') ?? ''}/scim/v2`
}

export function scimUserResource (row: ScimUserRow, base: string): Record<string, unknown> {
  const group = groupOfRole(row.role)
  return {
    schemas: [USER_SCHEMA],
    id: row.id,
    ...(row.externalId === null ? {} : { externalId: row.externalId }),
    userName: row.email,
    name: {
      formatted: row.name,
      ...(row.givenName === null ? {} : { givenName: row.givenName }),
      ...(row.familyName === null ? {} : { familyName: row.familyName })
    },
    displayName: row.displayName ?? row.name,
    emails: [{ value: row.email, type: 'work', primary: true }],
    active: row.status === 'active',
    groups: [{ value: group.id, display: group.displayName, $ref: `${base}/Groups/${group.id}` }],
    meta: { resourceType: 'User', created: row.created_at, lastModified: row.updated_at, location: `${base}/Users/${row.id}`, version: etagFor(row.version) }
  }
}

export function scimGroupResource (group: GroupWithMembers, base: string): Record<string, unknown> {
  return {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    displayName: group.displayName,
    ...(group.members === undefined ? {} : { members: group.members.map((member) => ({ value: member.id, display: member.email, $ref: `${base}/Users/${member.id}` })) }),
    meta: { resourceType: 'Group', location: `${base}/Groups/${group.id}` }
  }
}

export function listResponse (resources: Array<Record<string, unknown>>, totalResults: number | undefined, page: { startIndex: number } | { nextCursor: string | undefined }): Record<string, unknown> {
  return { schemas: [LIST_RESPONSE], ...(totalResults === undefined ? {} : { totalResults }), itemsPerPage: resources.length, ...page, Resources: resources }
}

// Returned whatever `attributes` or `excludedAttributes` say (RFC 7643 §7 "returned": "always").
const ALWAYS = new Set(['schemas', 'id'])

function pathsOf (list: string | undefined): string[] | undefined {
  if (list === undefined || list.trim() === '') return undefined
  return list.split(',').map(canonicalPath).filter((path) => path !== '')
}

/** Whether `attributes`/`excludedAttributes` leave `members` out: groups then skip reading them. */
export function wantsAttribute (name: string, attributes: string | undefined, excluded: string | undefined): boolean {
  const wanted = pathsOf(attributes)
  if (wanted !== undefined) return wanted.some((path) => path === name || path.startsWith(`${name}.`))
  return !(pathsOf(excluded) ?? []).includes(name)
}

function pick (resource: Record<string, unknown>, paths: string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(resource)) {
    const lower = name.toLowerCase()
    if (ALWAYS.has(lower) || paths.includes(lower)) {
      picked[name] = value
    } else {
      const subPaths = paths.filter((path) => path.startsWith(`${lower}.`)).map((path) => path.slice(lower.length + 1))
      if (subPaths.length > 0 && typeof value === 'object' && value !== null && !Array.isArray(value)) picked[name] = pick(value as Record<string, unknown>, subPaths)
      else if (subPaths.length > 0 && Array.isArray(value)) picked[name] = value.map((entry: Record<string, unknown>) => pick(entry, subPaths))
    }
  }
  return picked
}

function omit (resource: Record<string, unknown>, paths: string[]): Record<string, unknown> {
  const kept: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(resource)) {
    const lower = name.toLowerCase()
    if (!ALWAYS.has(lower) && paths.includes(lower)) continue
    const subPaths = paths.filter((path) => path.startsWith(`${lower}.`)).map((path) => path.slice(lower.length + 1))
    kept[name] = subPaths.length > 0 && typeof value === 'object' && value !== null && !Array.isArray(value) ? omit(value as Record<string, unknown>, subPaths) : value
  }
  return kept
}

/** RFC 7644 §3.9: `attributes` keeps only these (and what is always returned); `excludedAttributes` leaves these out. */
export function projected (resource: Record<string, unknown>, attributes: string | undefined, excluded: string | undefined): Record<string, unknown> {
  const wanted = pathsOf(attributes)
  if (wanted !== undefined) return pick(resource, wanted)
  const unwanted = pathsOf(excluded)
  return unwanted === undefined ? resource : omit(resource, unwanted)
}

/** The scimType (RFC 7644 §3.12) a problem stands for, where one applies. */
function scimTypeOf (problem: ProblemError): string | undefined {
  switch (problem.kind) {
    case 'email-taken': case 'external-id-taken': return 'uniqueness'
    case 'invalid-scim-request': return problem.extras.members?.scimType as string
    case 'invalid-parameters': return problem.extras.errors?.some((error) => error.pointer === 'cursor') === true ? 'invalidCursor' : 'invalidValue'
    case 'validation-failed': return 'invalidValue'
    case 'malformed-request': return 'invalidSyntax'
    default: return undefined
  }
}

/** A problem as SCIM's own error document: under /scim/v2, the one error format. */
export function scimErrorDocument (problem: ProblemError): { status: number, body: Record<string, unknown> } {
  // SCIM has no 422: a value the rules refuse is a 400 invalidValue.
  const status = problem.status === 422 ? 400 : problem.status
  const scimType = scimTypeOf(problem)
  const field = problem.extras.errors?.[0]
  const detail = field === undefined || problem.kind === 'invalid-parameters' ? problem.detail : `${field.pointer === '' ? '' : `${field.pointer.replace(/^\//, '')}: `}${field.detail}`
  return { status, body: { schemas: [ERROR_MESSAGE], status: String(status), ...(scimType === undefined ? {} : { scimType }), detail } }
}
