import { CONTROL_OR_BIDI, isEmailAddress } from '../common/text.ts'
import { ScimRequestError } from './errors.ts'

/**
 * What SCIM can change of a user, by canonical path: the one email is userName, and the
 * name parts are kept as sent (`name.formatted` is the user's name).
 */
export interface ScimUserState {
  userName: string
  externalId: string | null
  formatted: string | null
  givenName: string | null
  familyName: string | null
  displayName: string | null
  active: boolean
  password: string | undefined
}

function invalidValue (detail: string): ScimRequestError {
  return new ScimRequestError('invalidValue', detail)
}

/** A userName (an email): trimmed, lower-cased, at most 254 characters. */
export function userNameOf (value: unknown): string {
  if (typeof value !== 'string') throw invalidValue('userName must be a string: an email address.')
  const trimmed = value.trim().toLowerCase()
  if (!isEmailAddress(trimmed)) throw invalidValue('userName must be an email address (at most 254 characters).')
  return trimmed
}

/** An optional string attribute: null clears it; at most `max` characters of text. */
export function optionalText (value: unknown, attribute: string, max = 100): string | null {
  if (value === null) return null
  if (typeof value !== 'string') throw invalidValue(`${attribute} must be a string.`)
  const trimmed = value.trim()
  if (trimmed === '') return null
  if (trimmed.length > max || CONTROL_OR_BIDI.test(trimmed)) throw invalidValue(`${attribute} must be at most ${max} characters, without control characters.`)
  return trimmed
}

/** `active`: a boolean, or the strings Entra ID sends ("True", "False"). */
export function activeOf (value: unknown): boolean {
  if (typeof value === 'boolean') return value
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true'
  throw invalidValue('active must be true or false.')
}

/** `password`: write-only, 8–128 characters; the password policy is the same as everywhere. */
export function passwordOf (value: unknown): string {
  if (typeof value !== 'string' || value.length < 8 || value.length > 128) throw invalidValue('password must be 8–128 characters.')
  return value
}

/** The one email of `emails`: the primary one, else the first. */
export function emailsOf (value: unknown): string {
  const list = Array.isArray(value) ? value : [value]
  const entries = list.filter((entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null)
  if (entries.length === 0 || entries.length !== list.length) throw invalidValue('emails must be a list of {value, type, primary}.')
  const chosen = entries.find((entry) => entry.primary === true || entry.primary === 'True' || entry.primary === 'true') ?? entries[0]!
  return userNameOf(chosen.value)
}

/** The user's name: `name.formatted`, else the given and family names, else what it was. */
export function nameOf (state: ScimUserState, fallback: string): string {
  const joined = [state.givenName, state.familyName].filter((part) => part !== null).join(' ')
  return state.formatted ?? (joined === '' ? fallback : joined)
}
