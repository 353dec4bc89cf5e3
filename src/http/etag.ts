/** Strong ETags derived from a row's version counter. */
export function etagFor (version: number): string {
  return `"${version}"`
}

const STRONG_VERSION_TAG = /^"(\d{1,9})"$/

function tagsOf (header: string): string[] {
  return header.split(',').map((tag) => tag.trim()).filter(Boolean)
}

/**
 * The versions an If-Match header accepts, or undefined when the write is
 * unconditional (no header, or `*`). Weak tags never match: If-Match compares strongly.
 */
export function versionsFromIfMatch (header: string | undefined): number[] | undefined {
  if (header === undefined || header.trim() === '*') return undefined
  return tagsOf(header).flatMap((tag) => {
    const match = STRONG_VERSION_TAG.exec(tag)
    return match === null ? [] : [Number(match[1])]
  })
}

/** If-None-Match uses the weak comparison: W/"3" matches "3". */
export function ifNoneMatchMatches (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.trim() === '*' || tagsOf(header).some((tag) => tag.replace(/^W\//, '') === etag)
}
