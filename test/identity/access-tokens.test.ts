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
  const token = await tokens.issuePerson(grant)
  t.match(await tokens.verify(token), { kind: 'person', sub: grant.userId, sid: grant.sessionId, role: 'user', amr: ['pwd'], acr: 'aal1' }, 'valid, and so remembered')
  advance(59_000)
  t.ok(await tokens.verify(token), 'still valid a second before exp')
  advance(2_000)
  t.equal(await tokens.verify(token), undefined, 'refused once exp has passed, remembered or not')
})

t.test('a token issued by another key set is refused', async (t) => {
  const other = accessTokens({ keys: await parseSigningKeys(JSON.stringify(await prependNewKey(undefined))), issuer: 'users-service', audience: 'users-service', ttlSeconds: 60 })
  const { tokens } = withClock()
  t.equal(await tokens.verify(await other.issuePerson(grant)), undefined)
})

t.test('without a cache every verification checks the signature and the expiry again', async (t) => {
  let now = Date.parse('2026-11-23T12:00:00Z')
  const tokens = accessTokens({ keys, issuer: 'users-service', audience: 'users-service', ttlSeconds: 60, cacheSize: 0, now: () => now })
  const token = await tokens.issuePerson(grant)
  t.match(await tokens.verify(token), { sub: grant.userId })
  t.match(await tokens.verify(token), { sub: grant.userId }, 'valid again')
  now += 61_000
  t.equal(await tokens.verify(token), undefined, 'expired')
  t.equal(await tokens.verify(`${token.slice(0, -2)}xx`), undefined, 'a forged signature is refused')
})

t.test('a client token names the client as sub and client_id, with its scopes and no session', async (t) => {
  const { tokens } = withClock()
  const clientId = '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8d'
  const token = await tokens.issueClient({ clientId, scopes: ['users:read', 'events:read'] })
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
  t.match(payload, { sub: clientId, client_id: clientId, scope: 'users:read events:read' })
  t.notOk('sid' in payload || 'role' in payload, 'neither sid nor role')
  t.match(await tokens.verify(token), { kind: 'client', sub: clientId, scopes: ['users:read', 'events:read'] })
})
