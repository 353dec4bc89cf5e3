import { isUtf8 } from 'node:buffer'
import type { FastifyRequest } from 'fastify'
import { ProblemError } from './problem-error.ts'

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i

/** A body declared in another charset than UTF-8 would be read as UTF-8 and mangled: a 415. */
export function assertUtf8Charset (request: FastifyRequest): void {
  const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase()
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ProblemError('unsupported-media-type', `The body is declared as ${charset}; send it as UTF-8.`)
  }
}

const NOT_UTF8 = 'The body is not valid UTF-8.'

/** The body as text, refused when it is not UTF-8: decoding would store U+FFFD where the client sent something else. */
export function utf8Text (body: Buffer): string {
  if (!isUtf8(body)) throw new ProblemError('malformed-request', NOT_UTF8)
  return body.toString('utf8')
}

function decodeComponent (text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    // A percent-encoded byte that is not UTF-8 (a latin-1 form, say), or a stray %.
    throw new ProblemError('malformed-request', `${NOT_UTF8} A form's percent-encoded bytes must be UTF-8.`)
  }
}

/**
 * An application/x-www-form-urlencoded body (WHATWG URL §5.1) whose bytes, raw and
 * percent-encoded, are UTF-8. A name given twice is an array, which no schema accepts
 * (RFC 6749 §3.1: parameters must not be repeated).
 */
export function parseUrlEncoded (body: Buffer): Record<string, string | string[]> {
  const form: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>
  for (const pair of utf8Text(body).split('&')) {
    if (pair === '') continue
    const separator = pair.indexOf('=')
    const name = decodeComponent(separator === -1 ? pair : pair.slice(0, separator))
    const value = separator === -1 ? '' : decodeComponent(pair.slice(separator + 1))
    const previous = form[name]
    form[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value]
  }
  return form
}
