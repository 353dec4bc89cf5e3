/**
 * A stock OAuth client library (openid-client) against the listening service: it
 * discovers the service from its issuer URL, gets tokens with each client
 * authentication method, introspects and revokes; jose verifies the tokens from the JWKS.
 */
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import * as oauth from 'openid-client'
import t, { type Test } from 'tap'
import { ADMIN, buildTestApp } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'
import { freePort } from '../services/ports.ts'

forEachDatabase(t, async (t, database) => {
  const port = await freePort()
  const issuer = `http://localhost:${port}`
  const { app, admin, api } = await buildTestApp(t, await database.create(t), { JWT_ISSUER: issuer })
  await app.listen({ host: 'localhost', port })
  // Plain http on loopback: openid-client refuses it unless told.
  const insecure = { execute: [oauth.allowInsecureRequests], algorithm: 'oauth2' as const }
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`))

  const introspector = (await admin.post('/v1/clients', { name: 'introspector', scopes: ['tokens:introspect'] })).body
  const introspecting = await oauth.discovery(new URL(issuer), introspector.id, undefined, oauth.ClientSecretBasic(introspector.client_secret), insecure)

  async function assertUsable (t: Test, config: oauth.Configuration, clientId: string): Promise<string> {
    const tokens = await oauth.clientCredentialsGrant(config, { scope: 'users:read' })
    t.equal(tokens.token_type.toLowerCase(), 'bearer')
    t.equal(tokens.scope, 'users:read')
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer, audience: 'users-service', typ: 'at+jwt' })
    t.match(payload, { sub: clientId, client_id: clientId, scope: 'users:read' }, 'jose verifies it from the JWKS')
    const introspected = await oauth.tokenIntrospection(introspecting, tokens.access_token)
    t.match(introspected, { active: true, client_id: clientId, scope: 'users:read' }, 'introspection says it is active')
    t.equal((await api.withToken(tokens.access_token).get('/v1/users')).status, 200, 'and it works')
    return tokens.access_token
  }

  t.test('discovery finds the service from its issuer', async (t) => {
    const metadata = introspecting.serverMetadata()
    t.equal(metadata.issuer, issuer)
    t.equal(metadata.token_endpoint, `${issuer}/v1/auth/token`)
    t.equal(metadata.introspection_endpoint, `${issuer}/v1/auth/introspect`)
  })

  t.test('client_secret_basic', async (t) => {
    const client = (await admin.post('/v1/clients', { name: 'basic', scopes: ['users:read'] })).body
    await assertUsable(t, await oauth.discovery(new URL(issuer), client.id, undefined, oauth.ClientSecretBasic(client.client_secret), insecure), client.id)
  })

  t.test('client_secret_post', async (t) => {
    const client = (await admin.post('/v1/clients', { name: 'post', scopes: ['users:read'], auth_method: 'client_secret_post' })).body
    await assertUsable(t, await oauth.discovery(new URL(issuer), client.id, undefined, oauth.ClientSecretPost(client.client_secret), insecure), client.id)
  })

  t.test('private_key_jwt, Ed25519 and ES256', async (t) => {
    for (const alg of ['EdDSA', 'ES256'] as const) {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
      const client = (await admin.post('/v1/clients', { name: `jwt-${alg}`, scopes: ['users:read'], auth_method: 'private_key_jwt', jwks: { keys: [await exportJWK(publicKey)] } })).body
      await assertUsable(t, await oauth.discovery(new URL(issuer), client.id, undefined, oauth.PrivateKeyJwt(privateKey), insecure), client.id)
    }
  })

  t.test('a client revokes a person\'s session, and introspection sees it at once', async (t) => {
    const login = await api.post('/v1/auth/token', { email: ADMIN.email, password: ADMIN.password })
    t.match(await oauth.tokenIntrospection(introspecting, login.body.access_token), { active: true, sub: String, sid: String, role: 'admin', amr: ['pwd'], acr: 'aal1' })
    await oauth.tokenRevocation(introspecting, login.body.refresh_token)
    t.match(await oauth.tokenIntrospection(introspecting, login.body.access_token), { active: false })
  })

  t.test('the library reads the OAuth errors', async (t) => {
    const client = (await admin.post('/v1/clients', { name: 'wrong', scopes: ['users:read'] })).body
    const wrong = await oauth.discovery(new URL(issuer), client.id, undefined, oauth.ClientSecretBasic('not the secret'), insecure)
    // RFC 6749 §5.2's Basic challenge on invalid_client is what the library reports first.
    await t.rejects(oauth.clientCredentialsGrant(wrong), { name: 'WWWAuthenticateChallengeError', status: 401, cause: [{ scheme: 'basic', parameters: { realm: 'users-service' } }] } as never)
    const right = await oauth.discovery(new URL(issuer), client.id, undefined, oauth.ClientSecretBasic(client.client_secret), insecure)
    await t.rejects(oauth.clientCredentialsGrant(right, { scope: 'users:write' }), { error: 'invalid_scope', status: 400 } as never)
    await t.rejects(oauth.tokenIntrospection(right, 'anything'), { error: 'insufficient_scope', status: 403 } as never)
  })
})
