// The one form ids are handed out in (lower-case hex with hyphens): the only one the
// database's uuid columns are asked about, so nothing else reaches them as an id.
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function isCanonicalUuid (text: string): boolean {
  return CANONICAL_UUID.test(text)
}
