import { readFile } from 'node:fs/promises'
import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'

const pglite = testDatabases.find((database) => database.name === 'pglite')!

t.test('the committed openapi.json is what the code generates', async (t) => {
  const { app } = await buildTestApp(t, await pglite.create(t))
  const committed = JSON.parse(await readFile(new URL('../../openapi.json', import.meta.url), 'utf8'))
  t.same(committed, app.swagger(), 'openapi.json is stale: run `npm run openapi` and commit it')
})

t.test('the document', async (t) => {
  const { app } = await buildTestApp(t, await pglite.create(t))
  const spec = app.swagger() as { openapi: string, components: { schemas: Record<string, unknown> }, paths: Record<string, Record<string, { operationId?: string }>> }

  t.equal(spec.openapi, '3.1.0')
  t.same(Object.keys(spec.components.schemas).sort(), ['ApiKey', 'ApiKeyCreate', 'ApiKeyList', 'AuthenticationCredential', 'AuthorizationServerMetadata', 'Client', 'ClientCreate', 'ClientJwks', 'ClientList', 'ClientPatch', 'CloudEvent', 'CreatedApiKey', 'CreatedClient', 'CreationOptions', 'EmailVerificationConfirmation', 'EventList', 'Factor', 'FactorAdded', 'FactorConfirmation', 'FactorList', 'Health', 'ImportRequest', 'ImportSummary', 'IntrospectionRequest', 'IntrospectionResponse', 'Jwks', 'MfaOptionsRequest', 'MfaRequest', 'MfaRequired', 'NewClientSecret', 'NotReady', 'OAuthError', 'PasskeyLogin', 'PasswordResetConfirmation', 'PasswordResetRequest', 'PersonExport', 'Problem', 'RecoveryCodes', 'RegistrationCredential', 'RequestOptions', 'RevokeRequest', 'ScimDefinition', 'ScimDefinitionList', 'ScimError', 'ScimGroup', 'ScimGroupList', 'ScimPatchBody', 'ScimResourceBody', 'ScimServiceProviderConfig', 'ScimUser', 'ScimUserList', 'SecretRotation', 'Session', 'SessionList', 'TokenRequest', 'TokenResponse', 'TotpEnrolment', 'TotpEnrolmentRequest', 'User', 'UserCreate', 'UserList', 'UserPatch', 'UserReplace', 'ValidationProblem', 'WebauthnRegistration'])
  t.notMatch(JSON.stringify(spec), /def-\d/, 'shared schemas keep their names')
  const webhooks = (spec as { webhooks?: Record<string, { post: { requestBody: { content: Record<string, { schema: { $ref: string } }> } } }> }).webhooks
  t.same(webhooks?.userChange?.post.requestBody.content['application/cloudevents+json']?.schema, { $ref: '#/components/schemas/CloudEvent' }, 'the webhook call is described, with the event it carries')
  t.same(Object.keys(spec.paths).sort(), ['/.well-known/jwks.json', '/.well-known/oauth-authorization-server', '/health/live', '/health/ready', '/scim/v2/Groups', '/scim/v2/Groups/{id}', '/scim/v2/ResourceTypes', '/scim/v2/Schemas', '/scim/v2/Schemas/{id}', '/scim/v2/ServiceProviderConfig', '/scim/v2/Users', '/scim/v2/Users/{id}', '/v1/auth/email-verification/confirm', '/v1/auth/introspect', '/v1/auth/mfa', '/v1/auth/mfa/webauthn-options', '/v1/auth/passkey', '/v1/auth/passkey/options', '/v1/auth/password-reset', '/v1/auth/password-reset/confirm', '/v1/auth/revoke', '/v1/auth/token', '/v1/clients', '/v1/clients/{id}', '/v1/clients/{id}/api-keys', '/v1/clients/{id}/api-keys/{key_id}', '/v1/clients/{id}/secrets', '/v1/clients/{id}/secrets/{secret_id}', '/v1/events', '/v1/users', '/v1/users/export', '/v1/users/import', '/v1/users/me', '/v1/users/{id}', '/v1/users/{id}/email-verification', '/v1/users/{id}/export', '/v1/users/{id}/factors', '/v1/users/{id}/factors/totp', '/v1/users/{id}/factors/webauthn', '/v1/users/{id}/factors/webauthn/options', '/v1/users/{id}/factors/{factor_id}', '/v1/users/{id}/factors/{factor_id}/confirm', '/v1/users/{id}/recovery-codes', '/v1/users/{id}/sessions', '/v1/users/{id}/sessions/{session_id}'])
  const operationIds = Object.values(spec.paths).flatMap((operations) => Object.values(operations).map((operation) => operation.operationId))
  t.same(operationIds.sort(), ['completeMfa', 'confirmEmailVerification', 'confirmFactor', 'confirmPasswordReset', 'createApiKey', 'createClient', 'createToken', 'createUser', 'deleteApiKey', 'deleteClient', 'deleteClientSecret', 'deleteFactor', 'deleteSession', 'deleteSessions', 'deleteUser', 'enrolTotp', 'exportPerson', 'exportUsers', 'getAuthorizationServerMetadata', 'getClient', 'getCurrentUser', 'getJwks', 'getLiveness', 'getReadiness', 'getUser', 'importUsers', 'introspectToken', 'listApiKeys', 'listClients', 'listEvents', 'listFactors', 'listSessions', 'listUsers', 'logInWithPasskey', 'mfaWebauthnOptions', 'passkeyOptions', 'regenerateRecoveryCodes', 'registerWebauthn', 'replaceUser', 'requestEmailVerification', 'requestPasswordReset', 'revokeToken', 'rotateClientSecret', 'scimCreateGroup', 'scimCreateUser', 'scimDeleteGroup', 'scimDeleteUser', 'scimGetGroup', 'scimGetUser', 'scimListGroups', 'scimListUsers', 'scimPatchGroup', 'scimPatchUser', 'scimReplaceGroup', 'scimReplaceUser', 'scimResourceTypes', 'scimSchema', 'scimSchemas', 'scimServiceProviderConfig', 'updateClient', 'updateUser', 'webauthnRegistrationOptions'])
})

t.test('served at /openapi.json and rendered at /docs from local assets', async (t) => {
  const { app } = await buildTestApp(t, await pglite.create(t))
  const document = await app.inject('/openapi.json')
  t.equal(document.statusCode, 200)
  t.same(document.json(), app.swagger())

  const page = await app.inject('/docs/')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!)
  t.ok(assets.length > 0, 'the page loads assets')
  for (const asset of assets) {
    t.notMatch(asset, /^(https?:)?\/\//, `${asset} is served by this service`)
  }
  const script = assets.find((asset) => asset.endsWith('.js'))!
  t.equal((await app.inject(`/docs/${script.replace(/^\.\//, '')}`)).statusCode, 200)
})
