import { ProblemError } from './problem-error.ts'

// Opaque to consumers, so what a position is can change; the prefix versions the format.
const PREFIX = 'e1:'

export function encodeFeedCursor (position: number): string {
  return Buffer.from(PREFIX + String(position)).toString('base64url')
}

function invalidCursor (detail: string): ProblemError {
  return new ProblemError('invalid-parameters', 'The cursor is not one this service issued.', { errors: [{ pointer: 'after', detail }] })
}

/**
 * The position a feed cursor stands for. Only what encodeFeedCursor wrote decodes, and a
 * position past the newest one was never handed out.
 */
export function decodeFeedCursor (cursor: string, newest: number): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const digits = text.slice(PREFIX.length)
  if (!text.startsWith(PREFIX) || !/^(0|[1-9]\d{0,15})$/.test(digits) || encodeFeedCursor(Number(digits)) !== cursor) throw invalidCursor('is not a valid cursor')
  if (Number(digits) > newest) throw invalidCursor('points past the newest event')
  return Number(digits)
}
