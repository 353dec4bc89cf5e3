import { createHmac } from 'node:crypto'

function encode (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** An HMAC-signed (or unsigned) JWT built by hand, so tests can forge the kinds of bad token a library would refuse to make. */
export function forgeToken (claims: Record<string, unknown>, { secret, alg = 'HS256', header = {} }: { secret: string | Buffer, alg?: string, header?: Record<string, unknown> }): string {
  const unsigned = `${encode({ alg, typ: 'at+jwt', ...header })}.${encode(claims)}`
  if (alg === 'none') return `${unsigned}.`
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}

export function decodePart (token: string, part: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[part]!, 'base64url').toString()) as Record<string, unknown>
}

export function decodeClaims (token: string): Record<string, unknown> {
  return decodePart(token, 1)
}
