import { createHmac } from 'node:crypto'

function encode (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** A JWT built by hand, so tests can forge every kind of bad token. */
export function forgeToken (claims: Record<string, unknown>, { secret, alg = 'HS256' }: { secret: string, alg?: string }): string {
  const unsigned = `${encode({ alg, typ: 'JWT' })}.${encode(claims)}`
  if (alg === 'none') return `${unsigned}.`
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}

export function decodeClaims (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
}
