/** Control characters and bidi overrides: never in a name, an email or an identifier a person reads. */
export const CONTROL_OR_BIDI = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u

const EMAIL = /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]]+\.[^\s@"(),:;<>[\\\]]+$/

/** An email address as this service takes one from outside its schemas (SCIM, imports): at most 254 characters. */
export function isEmailAddress (text: string): boolean {
  return text.length <= 254 && EMAIL.test(text) && !CONTROL_OR_BIDI.test(text)
}
