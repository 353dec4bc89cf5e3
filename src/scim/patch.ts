import { ScimRequestError } from './errors.ts'
import { ENTERPRISE_USER_SCHEMA, canonicalPath } from './names.ts'
import { activeOf, emailsOf, optionalText, passwordOf, userNameOf, type ScimUserState } from './state.ts'

/**
 * Attributes of the core and enterprise User schemas this service does not keep. Identity
 * providers send them by default (Entra ID maps title, phone numbers, the enterprise
 * extension): they are accepted and ignored, as RFC 7644 §3.3 allows, rather than failing
 * every user who has a job title.
 */
const NOT_KEPT = new Set(['title', 'usertype', 'preferredlanguage', 'locale', 'timezone', 'nickname', 'profileurl', 'phonenumbers', 'addresses', 'ims', 'photos', 'entitlements', 'roles', 'x509certificates', 'name.middlename', 'name.honorificprefix', 'name.honorificsuffix'])

/** Set by the service: a write to them is refused (PATCH) or ignored in a whole resource (POST, PUT). */
const READ_ONLY = new Set(['id', 'meta', 'groups', 'schemas'])

// The one address a user has: `emails[type eq "work"]` and `emails[primary eq true]` name it.
const THE_EMAIL = /^emails\[\s*(type\s+eq\s+"work"|primary\s+eq\s+true)\s*\]$/
const OTHER_EMAIL = /^emails\[.*\]/

function isIgnored (path: string): boolean {
  return NOT_KEPT.has(path) || NOT_KEPT.has(path.replace(/\[.*$/, '')) || path.startsWith(ENTERPRISE_USER_SCHEMA.toLowerCase())
}

function isReadOnly (path: string): boolean {
  return READ_ONLY.has(path.split('.')[0]!)
}

type Assignment = (state: ScimUserState, value: unknown) => void

const ASSIGNMENTS: Record<string, Assignment> = {
  username: (state, value) => { state.userName = userNameOf(value) },
  externalid: (state, value) => { state.externalId = optionalText(value, 'externalId', 255) },
  displayname: (state, value) => { state.displayName = optionalText(value, 'displayName') },
  'name.formatted': (state, value) => { state.formatted = optionalText(value, 'name.formatted') },
  'name.givenname': (state, value) => { state.givenName = optionalText(value, 'name.givenName') },
  'name.familyname': (state, value) => { state.familyName = optionalText(value, 'name.familyName') },
  active: (state, value) => { state.active = activeOf(value) },
  password: (state, value) => { state.password = passwordOf(value) },
  emails: (state, value) => { state.userName = emailsOf(value) },
  'emails.value': (state, value) => { state.userName = userNameOf(value) }
}

const REQUIRED = new Set(['username', 'emails', 'emails.value', 'active', 'password'])

/** Sets one attribute, by its canonical path; `name` as an object sets its parts. */
function assign (state: ScimUserState, path: string, value: unknown, strict: boolean): void {
  if (path === 'name') {
    if (value === null) return clearName(state)
    if (typeof value !== 'object' || Array.isArray(value)) throw new ScimRequestError('invalidValue', 'name must be an object.')
    for (const [member, part] of Object.entries(value)) assign(state, `name.${member.toLowerCase()}`, part, strict)
    return
  }
  const emailPath = path.replace(/\s*\.value$/, '')
  if (THE_EMAIL.test(emailPath)) return ASSIGNMENTS[path.endsWith('.value') ? 'emails.value' : 'emails']!(state, value)
  if (OTHER_EMAIL.test(path)) throw new ScimRequestError('noTarget', 'A user has one email, of type work: no other is kept.')
  const assignment = ASSIGNMENTS[path]
  if (assignment !== undefined) return assignment(state, value)
  if (isIgnored(path)) return
  if (isReadOnly(path)) {
    if (strict) throw new ScimRequestError('mutability', `${path} is set by the service.`)
    return
  }
  if (strict) throw new ScimRequestError('invalidPath', `${path} is not an attribute of a User.`)
}

function clearName (state: ScimUserState): void {
  state.formatted = null
  state.givenName = null
  state.familyName = null
}

function remove (state: ScimUserState, path: string): void {
  if (path === 'name') return clearName(state)
  if (REQUIRED.has(path) || THE_EMAIL.test(path.replace(/\s*\.value$/, ''))) throw new ScimRequestError('mutability', `${path} is required: it can be replaced, not removed.`)
  if (isReadOnly(path)) throw new ScimRequestError('mutability', `${path} is set by the service.`)
  if (path in ASSIGNMENTS) return ASSIGNMENTS[path]!(state, null)
  if (isIgnored(path)) return
  throw new ScimRequestError('invalidPath', `${path} is not an attribute of a User.`)
}

/** A whole resource's attributes (POST, PUT, or a PATCH value without path): what is not kept or set by the service is ignored. */
export function assignResource (state: ScimUserState, resource: Record<string, unknown>, strict = false): void {
  for (const [member, value] of Object.entries(resource)) {
    const path = canonicalPath(member)
    // A value for an extension schema as a whole: nothing of it is kept.
    if (path.startsWith('urn:')) continue
    assign(state, path, value, strict)
  }
}

const MAX_OPERATIONS = 100

interface Operation { op: 'add' | 'replace' | 'remove', path: string | undefined, value: unknown }

function memberOf (object: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(object).find((candidate) => candidate.toLowerCase() === name)
  return key === undefined ? undefined : object[key]
}

/** The operations of a PatchOp body; member names and `op` in any case, as providers send them. */
export function operationsOf (body: unknown): Operation[] {
  const operations = typeof body === 'object' && body !== null ? memberOf(body as Record<string, unknown>, 'operations') : undefined
  if (!Array.isArray(operations) || operations.length === 0) throw new ScimRequestError('invalidSyntax', 'A PatchOp has a non-empty Operations list.')
  if (operations.length > MAX_OPERATIONS) throw new ScimRequestError('invalidSyntax', `A PatchOp has at most ${MAX_OPERATIONS} operations.`)
  return operations.map((operation: unknown) => {
    if (typeof operation !== 'object' || operation === null) throw new ScimRequestError('invalidSyntax', 'Each operation is an object with op, path and value.')
    const op = memberOf(operation as Record<string, unknown>, 'op')
    const path = memberOf(operation as Record<string, unknown>, 'path')
    const normalized = typeof op === 'string' ? op.toLowerCase() : undefined
    if (normalized !== 'add' && normalized !== 'replace' && normalized !== 'remove') throw new ScimRequestError('invalidSyntax', 'op is add, replace or remove.')
    if (path !== undefined && (typeof path !== 'string' || path.trim() === '')) throw new ScimRequestError('invalidPath', 'path must be an attribute path.')
    return { op: normalized, path: path === undefined ? undefined : canonicalPath(path), value: memberOf(operation as Record<string, unknown>, 'value') }
  })
}

/**
 * Applies a PATCH's operations to a copy of the state, in order: the caller writes the
 * result at once, or nothing when an operation fails (all or nothing, RFC 7644 §3.5.2).
 */
export function applyPatch (current: ScimUserState, operations: Operation[]): ScimUserState {
  const state = { ...current }
  for (const { op, path, value } of operations) {
    if (op === 'remove') {
      if (path === undefined) throw new ScimRequestError('noTarget', 'remove needs a path.')
      remove(state, path)
    } else if (path === undefined) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ScimRequestError('invalidValue', `${op} without a path takes an object of attributes.`)
      assignResource(state, value as Record<string, unknown>, true)
    } else {
      if (value === undefined) throw new ScimRequestError('invalidValue', `${op} needs a value.`)
      assign(state, path, value, true)
    }
  }
  return state
}
