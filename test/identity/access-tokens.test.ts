import t from 'tap'
import { accessTokens } from '../../src/identity/access-tokens.ts'
import { parseSigningKeys, prependNewKey } from '../../src/identity/signing-keys.ts'

const keys = await parseSigningKeys(JSON.stringify(await prependNewKey(undefined)))
const grant = { userId: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8b', sessionId: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8c', role: 'user' as const }

function withClock () {
  let now = Date.parse('2026-11-23T12:00:00Z')
  const tokens = accessTokens({ keys, issuer: 'users-service', audience: 'users-service', ttlSeconds: 60, now: () => now })
  return { tokens, advance: (ms: number) => { now += ms } }
}

t.test('a verdict is remembered, but never past the token\'s exp', async (t) => {
  const { tokens, advance } = withClock()
  const token = await tokens.issue(grant)
  t.match(await tokens.verify(token), { sub: grant.userId, sid: grant.sessionId, role: 'user' }, 'valid, and so remembered')
  advance(59_000)
  t.ok(await tokens.verify(token), 'still valid a second before exp')
  advance(2_000)
  t.equal(await tokens.verify(token), undefined, 'refused once exp has passed, remembered or not')
})

t.test('a token issued by another key set is refused', async (t) => {
  const other = accessTokens({ keys: await parseSigningKeys(JSON.stringify(await prependNewKey(undefined))), issuer: 'users-service', audience: 'users-service', ttlSeconds: 60 })
  const { tokens } = withClock()
  t.equal(await tokens.verify(await other.issue(grant)), undefined)
})

t.test('without a cache every verification checks the signature and the expiry again', async (t) => {
  let now = Date.parse('2026-11-23T12:00:00Z')
  const tokens = accessTokens({ keys, issuer: 'users-service', audience: 'users-service', ttlSeconds: 60, cacheSize: 0, now: () => now })
  const token = await tokens.issue(grant)
  t.match(await tokens.verify(token), { sub: grant.userId })
  t.match(await tokens.verify(token), { sub: grant.userId }, 'valid again')
  now += 61_000
  t.equal(await tokens.verify(token), undefined, 'expired')
  t.equal(await tokens.verify(`${token.slice(0, -2)}xx`), undefined, 'a forged signature is refused')
})
