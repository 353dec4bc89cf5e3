import type { Readable } from 'node:stream'
import { DomainError } from '../common/errors.ts'
import { MAX_IMPORTED_USERS, TooManyImportedUsersError, type ImportLine } from './import.ts'

const NEWLINE = 0x0a

/** An import body larger than the deployment takes (IMPORT_BODY_LIMIT_BYTES). */
export class ImportTooLargeError extends DomainError {
  override name = 'ImportTooLargeError'
  constructor (limitBytes: number) {
    super(`An import body is at most ${limitBytes} bytes; send the rest in another request.`)
  }
}

function lineOf (bytes: Buffer): ImportLine | undefined {
  // Read strictly: a line that is not valid UTF-8 fails alone, rather than being stored mangled.
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return { notJson: true }
  }
  if (text.trim() === '') return undefined
  try {
    return { value: JSON.parse(text) as unknown }
  } catch {
    return { notJson: true }
  }
}

/**
 * The lines of an NDJSON stream as they arrive, never the whole body in memory: at most
 * one line and one chunk. Blank lines are no users. Past `limitBytes`, an ImportTooLargeError.
 */
export async function * ndjsonLines (body: Readable, limitBytes = Infinity): AsyncGenerator<ImportLine> {
  let received = 0
  let pending: Buffer[] = []
  for await (const chunk of body as AsyncIterable<Buffer>) {
    received += chunk.length
    if (received > limitBytes) throw new ImportTooLargeError(limitBytes)
    let start = 0
    for (let newline = chunk.indexOf(NEWLINE); newline !== -1; newline = chunk.indexOf(NEWLINE, start)) {
      pending.push(chunk.subarray(start, newline))
      const line = lineOf(Buffer.concat(pending))
      pending = []
      if (line !== undefined) yield line
      start = newline + 1
    }
    if (start < chunk.length) pending.push(chunk.subarray(start))
  }
  const last = lineOf(Buffer.concat(pending))
  if (last !== undefined) yield last
}

/**
 * The users of a JSON `{users: [...]}` body, as the same lines. Their number is known
 * before the first insert, so too many are refused before any work is done.
 */
export async function * jsonLines (users: unknown[]): AsyncGenerator<ImportLine> {
  if (users.length > MAX_IMPORTED_USERS) throw new TooManyImportedUsersError()
  for (const value of users) yield { value }
}
