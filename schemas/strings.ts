import Type from 'typebox'

/**
 * Ids in one canonical form: lower-case hex with hyphens. ajv's `uuid` format also
 * admits upper case and a `urn:uuid:` prefix, which the database would either refuse
 * (a 500) or compare differently from the id it handed out.
 */
export function Id (description?: string) {
  return Type.String({
    format: 'uuid',
    pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
    description: description ?? 'a UUID, in lower case'
  })
}

/**
 * Characters no text of a person's makes sense with: C0/C1 controls (NUL among them,
 * which PostgreSQL refuses in text) and the bidirectional overrides and isolates that
 * make a name display as something else.
 */
export const FORBIDDEN_CHARACTERS = '\\p{Cc}\\u202A-\\u202E\\u2066-\\u2069'
