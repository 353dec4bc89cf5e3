import { execFile } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import type * as Sdk from '../../sdk/src/index.ts'
import type { User, UserCreateWritable } from '../../sdk/src/index.ts'
import { projectRoot } from '../../src/runtime/project-root.ts'
import { ADMIN, buildTestApp, newUser } from '../helpers/app.ts'
import { withoutCoverage } from '../helpers/child-process.ts'
import { forEachDatabase, memoryDatabase } from '../helpers/databases.ts'
import { until } from '../helpers/wait.ts'
import { totpCode } from '../helpers/mfa.ts'
import { startSmtpServer, tokenIn } from '../services/smtp.ts'

const run = promisify(execFile)

/**
 * The SDK as its users get it: built with tsc from sdk/ (which also proves it builds on
 * its own) and imported from the output. Built under node_modules so that coverage,
 * which is about this service's code, leaves the generated client out.
 */
async function builtSdk (): Promise<typeof Sdk> {
  const outDir = join(projectRoot, 'node_modules', '.cache', 'users-sdk-test', String(process.pid))
  t.teardown(() => rm(outDir, { recursive: true, force: true }))
  await run(join(projectRoot, 'node_modules/.bin/tsc'), ['-p', 'sdk/tsconfig.json', '--outDir', outDir], { cwd: projectRoot, env: withoutCoverage(process.env) })
  // Inside node_modules the root package.json no longer applies: the output needs its own module type.
  await writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n')
  return await import(pathToFileURL(join(outDir, 'index.js')).href) as typeof Sdk
}

const { createUsersApi, ProblemError: SdkProblemError, MfaRequiredError, StepUpRequiredError } = await builtSdk()

/** A unique, valid sign-up body, typed as the SDK wants it. */
function registration (): UserCreateWritable {
  return newUser() as unknown as UserCreateWritable
}

/** The call's SdkProblemError; fails the test when the call succeeded or threw something else. */
async function problemOf (call: Promise<unknown>): Promise<InstanceType<typeof SdkProblemError>> {
  try {
    await call
  } catch (error) {
    if (error instanceof SdkProblemError) return error
    throw error
  }
  throw new Error('expected the call to fail with a problem')
}

t.test('the whole user journey through the generated SDK, against a listening server', async (t) => {
  forEachDatabase(t, async (t, database) => {
    const smtp = await startSmtpServer()
    t.teardown(() => smtp.stop())
    const { app } = await buildTestApp(t, await database.create(t), { SMTP_URL: smtp.url })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    const anonymous = createUsersApi({ baseUrl })

    // Register.
    const signUp = registration()
    const created = await anonymous.createUser({ body: signUp })
    const user: User = created.data
    t.equal(created.response.status, 201)
    t.equal(created.response.headers.get('location'), `/v1/users/${user.id}`)
    t.match(user, { email: signUp.email, name: signUp.name, role: 'user' })

    const taken = await problemOf(anonymous.createUser({ body: signUp }))
    t.equal(taken.status, 409)
    t.equal(taken.type, '/problems/email-taken')
    const invalid = await problemOf(anonymous.createUser({ body: { email: 'not an email', name: 'X', password: 'short' } }))
    t.equal(invalid.status, 422)
    t.same(invalid.fieldErrors.map((error) => error.pointer).sort(), ['/email', '/password'], 'one typed entry per failing field')

    // Log in and read me.
    const login = await anonymous.createToken({ body: { email: signUp.email, password: signUp.password } })
    t.equal(login.data.token_type, 'Bearer')
    const wrongPassword = await problemOf(anonymous.createToken({ body: { email: signUp.email, password: 'wrong password' } }))
    t.equal(wrongPassword.status, 401)
    let token: string | undefined = login.data.access_token
    const me = createUsersApi({ baseUrl, token: () => token })
    const read = await me.getCurrentUser()
    t.equal(read.data.id, user.id)
    const etag = read.response.headers.get('etag')!

    // Update with If-Match; a stale tag is a typed 412.
    const updated = await me.updateUser({ path: { id: user.id }, body: { name: 'Renamed Through The SDK' }, headers: { 'If-Match': etag } })
    t.equal(updated.data.name, 'Renamed Through The SDK')
    t.not(updated.response.headers.get('etag'), etag, 'a new ETag')
    const stale = await problemOf(me.updateUser({ path: { id: user.id }, body: { name: 'Lost Update' }, headers: { 'If-Match': etag } }))
    t.equal(stale.status, 412)
    t.equal(stale.type, '/problems/precondition-failed')
    const notAllowed = await problemOf(me.listUsers({ query: { limit: 10 } }))
    t.equal(notAllowed.status, 403, 'listing is for admins')

    // A client holding a refresh token refreshes by itself when the access token is refused, and retries once.
    const stored: string[] = []
    const secondDevice = await anonymous.createToken({ body: { email: signUp.email, password: signUp.password } })
    const refreshing = createUsersApi({ baseUrl, token: 'an-expired-access-token', refreshToken: secondDevice.data.refresh_token, onTokens: (tokens) => stored.push(tokens.refresh_token!) })
    const [first, second] = await Promise.all([refreshing.getCurrentUser(), refreshing.listSessions({ path: { id: user.id } })])
    t.equal(first.data.id, user.id, 'the request succeeded after a refresh')
    t.equal(second.data.data.length, 2, 'and a concurrent one, through the same single refresh')
    t.equal(stored.length, 1, 'one exchange, whose new tokens the caller could store')
    t.not(stored[0], secondDevice.data.refresh_token, 'the refresh token rotated')
    const revoked = await anonymous.revokeToken({ body: { token: stored[0]! } })
    t.equal(revoked.response.status, 200, 'logout')
    const afterLogout = await problemOf(createUsersApi({ baseUrl, token: 'an-expired-access-token', refreshToken: stored[0]! }).getCurrentUser())
    t.equal(afterLogout.status, 401, 'after logout a refresh cannot help: the 401 reaches the caller')

    // List as admin and follow the cursors.
    const adminLogin = await anonymous.createToken({ body: ADMIN })
    const admin = createUsersApi({ baseUrl, token: adminLogin.data.access_token })
    for (let count = 0; count < 4; count += 1) await anonymous.createUser({ body: registration() })
    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await admin.listUsers({ query: { limit: 2, ...(cursor === undefined ? {} : { cursor }) } })
      seen.push(...page.data.data.map((listed) => listed.id))
      cursor = page.data.next_cursor ?? undefined
      t.equal(page.response.headers.has('link'), cursor !== undefined, 'a Link header exactly when there is a next page')
      pages += 1
    } while (cursor !== undefined && pages < 20)
    t.equal(seen.length, 6, 'the admin, the user and the four others')
    t.equal(new Set(seen).size, seen.length, 'nobody twice')
    t.ok(seen.includes(user.id))
    t.ok(pages >= 3, `${pages} pages of two`)

    // Verify the address and recover a forgotten password, with the tokens the mails carry.
    t.equal((await me.requestEmailVerification({ path: { id: user.id } })).response.status, 202)
    const verification = tokenIn(await until(async () => smtp.mailsTo(user.email), (mails) => mails.length > 0, 20_000).then((mails) => mails[0]!))
    t.equal((await anonymous.confirmEmailVerification({ body: { token: verification } })).response.status, 204)
    t.equal((await me.getCurrentUser()).data.email_verified, true, 'verified')
    t.equal((await anonymous.requestPasswordReset({ body: { email: user.email } })).response.status, 202)
    const reset = tokenIn(await until(async () => smtp.mailsTo(user.email), (mails) => mails.length > 1, 20_000).then((mails) => mails[1]!))
    const usedUp = await problemOf(anonymous.confirmEmailVerification({ body: { token: verification } }))
    t.equal(usedUp.type, '/problems/invalid-account-token', 'a used token is a typed 400')
    t.equal((await anonymous.confirmPasswordReset({ body: { token: reset, password: 'recovered through the sdk' } })).response.status, 204)
    token = (await anonymous.createToken({ body: { email: user.email, password: 'recovered through the sdk' } })).data.access_token

    // Delete; the token stops working.
    const deleted = await me.deleteUser({ path: { id: user.id } })
    t.equal(deleted.response.status, 204)
    const gone = await problemOf(me.getCurrentUser())
    t.equal(gone.status, 401, 'a deleted user\'s token is refused')
    token = undefined
    const anonymousRead = await problemOf(me.getUser({ path: { id: user.id } }))
    t.equal(anonymousRead.status, 401, 'no token, no read')
    t.match(anonymousRead.response.headers.get('www-authenticate'), /^Bearer/)
    t.equal((await admin.getUser({ path: { id: user.id } }).catch((error: unknown) => error) as InstanceType<typeof SdkProblemError>).status, 404)
  })
})

t.test('the SDK with a second factor: MfaRequiredError, completeMfa, and a step-up it does not take for an expired token', async (t) => {
  const { app } = await buildTestApp(t, await memoryDatabase(), { MFA_REQUIRED_ROLES: 'admin' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const anonymous = createUsersApi({ baseUrl })
  const { data: login } = await anonymous.createToken({ body: { email: ADMIN.email, password: ADMIN.password } })
  let refreshes = 0
  const admin = createUsersApi({ baseUrl, token: login.access_token, refreshToken: login.refresh_token, onTokens: () => { refreshes += 1 } })

  const stepUp = await problemOf(admin.listUsers({ query: { limit: 10 } }))
  t.ok(stepUp instanceof StepUpRequiredError, 'a StepUpRequiredError')
  t.equal(stepUp.status, 401)
  t.equal((stepUp as InstanceType<typeof StepUpRequiredError>).acrValues, 'aal2')
  t.equal(refreshes, 0, 'no refresh was tried')

  const { data: me } = await admin.getCurrentUser()
  const { data: enrolment } = await admin.enrolTotp({ path: { id: me.id }, body: {} })
  const now = Date.now()
  await admin.confirmFactor({ path: { id: me.id, factor_id: enrolment.id }, body: { code: totpCode(enrolment.secret, now) } })
  const required = await problemOf(anonymous.createToken({ body: { email: ADMIN.email, password: ADMIN.password } }))
  t.ok(required instanceof MfaRequiredError, 'the password step throws an MfaRequiredError')
  const mfa = required as InstanceType<typeof MfaRequiredError>
  t.same(mfa.factors, ['totp', 'recovery_code'])
  // The next time step: the confirmation used this one's code up.
  const { data: strong } = await anonymous.completeMfa({ body: { mfa_token: mfa.mfaToken, code: totpCode(enrolment.secret, now + 30_000) } })
  const steppedUp = createUsersApi({ baseUrl, token: strong.access_token })
  t.equal((await steppedUp.listUsers({ query: { limit: 10 } })).response.status, 200, 'an aal2 admin lists users')
})

t.test('the SDK as a machine client: fetches, caches and renews its token, with a secret or a private key', async (t) => {
  const { app, admin } = await buildTestApp(t, await memoryDatabase())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const tokenRequests: string[] = []
  const counting: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input)
    if (url.endsWith('/v1/auth/token')) tokenRequests.push(url)
    return fetch(input, init)
  }

  let now = Date.now()
  const secretClient = (await admin.post('/v1/clients', { name: 'sdk-secret', scopes: ['users:read', 'events:read'] })).body
  const bySecret = createUsersApi({ baseUrl, fetch: counting, clientCredentials: { clientId: secretClient.id, clientSecret: secretClient.client_secret, scope: 'users:read', now: () => now } })
  t.equal((await bySecret.listUsers({ query: { limit: 20 } })).response.status, 200)
  t.equal((await bySecret.listUsers({ query: { limit: 20 } })).response.status, 200)
  t.equal(tokenRequests.length, 1, 'one token for both calls')
  now += 900_000 - 29_000
  await bySecret.listUsers({ query: { limit: 20 } })
  t.equal(tokenRequests.length, 2, 'renewed shortly before it expires')
  const refused = await problemOf(bySecret.listEvents({ query: { limit: 20 } }))
  t.equal(refused.status, 403, 'the scope it did not ask for')
  t.equal(refused.type, '/problems/insufficient-scope')

  const postClient = (await admin.post('/v1/clients', { name: 'sdk-post', scopes: ['users:read'], auth_method: 'client_secret_post' })).body
  t.equal((await createUsersApi({ baseUrl, clientCredentials: { clientId: postClient.id, clientSecret: postClient.client_secret, authMethod: 'client_secret_post' } }).listUsers({ query: { limit: 20 } })).response.status, 200, 'client_secret_post')

  for (const algorithm of [{ name: 'Ed25519' }, { name: 'ECDSA', namedCurve: 'P-256' }]) {
    const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) as CryptoKeyPair
    const jwk = await crypto.subtle.exportKey('jwk', keys.publicKey)
    const keyClient = (await admin.post('/v1/clients', { name: `sdk-${algorithm.name}`, scopes: ['users:read'], auth_method: 'private_key_jwt', jwks: { keys: [{ ...jwk, kid: 'sdk-key' }] } })).body
    const byKey = createUsersApi({ baseUrl, clientCredentials: { clientId: keyClient.id, privateKey: keys.privateKey, keyId: 'sdk-key' } })
    t.equal((await byKey.listUsers({ query: { limit: 20 } })).response.status, 200, `private_key_jwt with ${algorithm.name}`)
  }

  const wrong = createUsersApi({ baseUrl, clientCredentials: { clientId: secretClient.id, clientSecret: 'not the secret' } })
  const failed = await problemOf(wrong.listUsers({ query: { limit: 20 } }))
  t.equal(failed.status, 401, 'a wrong secret is a typed error')
  t.equal(failed.type, '/problems/invalid-client')
})
