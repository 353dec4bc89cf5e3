import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { accessTokens } from '../../src/identity/access-tokens.ts'
import { createClient } from '../../src/clients/clients.ts'
import { connectDatabase } from '../../src/db/connect.ts'
import { SYSTEM } from '../../src/access/actor.ts'
import { benchDomain } from './domain.ts'
import { startSession } from '../../src/identity/sessions.ts'
import { parseSigningKeys, prependNewKey } from '../../src/identity/signing-keys.ts'

export interface BenchCredentials {
  /** JWT_SIGNING_KEYS for users-service. */
  signingKeys: string
  /** The public keys, as the Express peer verifies tokens: from the JWKS alone. */
  publicJwks: string
  /** An admin's access token of a live session, valid for an hour. */
  token: string
  /** A machine client with users:read, its secret, and a token of it valid for an hour. */
  client: { id: string, secret: string, token: string }
  /** A token of a client holding scim, as an identity provider has. */
  scimToken: string
  /** A client that authenticates with private_key_jwt, and `count` fresh assertions of it (each jti is spent once). */
  keyClient: { id: string, assertions: (count: number) => Promise<string[]> }
  /** A client holding tokens:introspect, and its secret. */
  introspector: { id: string, secret: string }
}

/** A key set, a session of the seeded admin and an access token of it, and a machine client. */
export async function benchCredentials (databaseUrl: string, adminId: string): Promise<BenchCredentials> {
  const signingKeys = JSON.stringify(await prependNewKey(undefined))
  const keys = await parseSigningKeys(signingKeys)
  const connection = await connectDatabase({ url: databaseUrl, pgliteDataDir: 'memory://', poolMax: 1 })
  try {
    const { sessionId } = await startSession(benchDomain(connection.db), SYSTEM, { principal: { id: adminId, role: 'admin' } }, { ttlSeconds: 86_400, userAgent: 'bench' })
    const tokens = accessTokens({ keys, issuer: 'users-service', audience: 'users-service', ttlSeconds: 3600 })
    const token = await tokens.issuePerson({ userId: adminId, role: 'admin', sessionId })
    const { client, secret } = await createClient(benchDomain(connection.db), SYSTEM, { name: `bench-${sessionId}`, scopes: ['users:read'] })
    const clientToken = await tokens.issueClient({ clientId: client.id, scopes: client.scopes })
    const provider = await createClient(benchDomain(connection.db), SYSTEM, { name: `bench-scim-${sessionId}`, scopes: ['scim'] })
    const scimToken = await tokens.issueClient({ clientId: provider.client.id, scopes: provider.client.scopes })
    const key = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
    const keyClient = await createClient(benchDomain(connection.db), SYSTEM, { name: `bench-key-${sessionId}`, scopes: ['users:read'], auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'OKP', ...await exportJWK(key.publicKey), alg: 'EdDSA' }] } })
    const keyClientId = keyClient.client.id
    // Signed before the load starts: signing in the load generator would compete with the server for the CPU.
    const assertions = async (count: number) => Promise.all(Array.from({ length: count }, () =>
      new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'EdDSA' }).setIssuer(keyClientId).setSubject(keyClientId).setAudience('users-service').setExpirationTime('4m').sign(key.privateKey)))
    const introspector = await createClient(benchDomain(connection.db), SYSTEM, { name: `bench-introspect-${sessionId}`, scopes: ['tokens:introspect'] })
    return { keyClient: { id: keyClientId, assertions }, introspector: { id: introspector.client.id, secret: introspector.secret! }, signingKeys, publicJwks: JSON.stringify({ keys: keys.all.map((key) => key.publicJwk) }), token, client: { id: client.id, secret: secret!, token: clientToken }, scimToken }
  } finally {
    await connection.close()
  }
}
