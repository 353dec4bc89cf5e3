import { CONTROL_OR_BIDI, isEmailAddress } from '../common/text.ts'
import { HashFormatError, parseForeignHash } from '../identity/foreign-hashes.ts'
import { ROLES, STATUSES, type Role, type Status } from '../users/roles.ts'

/** What is wrong with one member of an imported user. */
export interface FieldError {
  pointer: string
  detail: string
}

/** One user of an import, as it will be inserted. */
export interface ImportedUser {
  email: string
  name: string
  role: Role
  status: Status
  emailVerified: boolean
  externalId: string | null
  createdAt: Date | undefined
  passwordHash: string | null
}

const MEMBERS = new Set(['email', 'name', 'role', 'status', 'email_verified', 'external_id', 'created_at', 'password_hash'])
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i

function text (value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined
  const trimmed = value.trim()
  return trimmed === '' || trimmed.length > max || CONTROL_OR_BIDI.test(trimmed) ? undefined : trimmed
}

function createdAtOf (value: unknown): Date | undefined | null {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !TIMESTAMP.test(value)) return null
  const time = new Date(value)
  return Number.isNaN(time.getTime()) || time.getUTCFullYear() < 1 ? null : time
}

/**
 * A line of an import judged on its own: the user, or what is wrong with it as JSON
 * Pointers into that user's object, as a 422 of POST /v1/users would say.
 */
export function readImportedUser (value: unknown): { user: ImportedUser } | { errors: FieldError[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { errors: [{ pointer: '', detail: 'must be an object' }] }
  const input = value as Record<string, unknown>
  const errors: FieldError[] = Object.keys(input).filter((member) => !MEMBERS.has(member)).map((member) => ({ pointer: `/${member}`, detail: 'is not a known member' }))
  const email = typeof input.email === 'string' ? input.email.trim().toLowerCase() : undefined
  if (email === undefined || !isEmailAddress(email)) errors.push({ pointer: '/email', detail: input.email === undefined ? 'is required' : 'must be a valid email address' })
  const name = text(input.name, 100)
  if (name === undefined) errors.push({ pointer: '/name', detail: input.name === undefined ? 'is required' : 'must be 1–100 characters without control characters' })
  const role = input.role ?? 'user'
  if (!(ROLES as readonly unknown[]).includes(role)) errors.push({ pointer: '/role', detail: `must be one of: ${ROLES.join(', ')}` })
  const status = input.status ?? 'active'
  if (!(STATUSES as readonly unknown[]).includes(status)) errors.push({ pointer: '/status', detail: `must be one of: ${STATUSES.join(', ')}` })
  const emailVerified = input.email_verified ?? false
  if (typeof emailVerified !== 'boolean') errors.push({ pointer: '/email_verified', detail: 'must be a boolean' })
  const externalId = input.external_id === undefined || input.external_id === null ? null : text(input.external_id, 255)
  if (externalId === undefined) errors.push({ pointer: '/external_id', detail: 'must be 1–255 characters without control characters' })
  const createdAt = createdAtOf(input.created_at)
  if (createdAt === null) errors.push({ pointer: '/created_at', detail: 'must be an RFC 3339 date-time' })
  let passwordHash: string | null = null
  if (input.password_hash !== undefined && input.password_hash !== null) {
    if (typeof input.password_hash !== 'string') {
      errors.push({ pointer: '/password_hash', detail: 'must be a string' })
    } else {
      try {
        parseForeignHash(input.password_hash)
        passwordHash = input.password_hash
      } catch (error) {
        if (!(error instanceof HashFormatError)) throw error
        errors.push({ pointer: '/password_hash', detail: `is not supported: ${error.message}` })
      }
    }
  }
  if (errors.length > 0) return { errors }
  return { user: { email: email!, name: name!, role: role as Role, status: status as Status, emailVerified: emailVerified as boolean, externalId: externalId ?? null, createdAt: createdAt ?? undefined, passwordHash } }
}
