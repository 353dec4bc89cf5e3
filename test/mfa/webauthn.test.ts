/**
 * WebAuthn in a real browser: Debian's Chromium with a CDP virtual authenticator (CTAP2,
 * resident keys, user verification) on a page of the service's own origin at
 * http://localhost:PORT (an IP address cannot be an RP ID). A factor is registered, used
 * as a login's second step and for a passwordless login; a reused, stale or foreign
 * challenge and a foreign origin are refused.
 */
import { createServer } from 'node:http'
import type { Page } from 'playwright-core'
import t from 'tap'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { browserUnavailable, launchChromium } from '../helpers/browser.ts'
import { testDatabases } from '../helpers/databases.ts'
import { passwordStep } from '../helpers/mfa.ts'
import { decodeClaims } from '../helpers/tokens.ts'
import { freePort } from '../services/ports.ts'

type Json = Record<string, unknown>

/** navigator.credentials.create() for the service's options, as the credential's toJSON(). */
function create (page: Page, options: Json): Promise<Json> {
  return page.evaluate(async (options) => {
    const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options as never) }) as PublicKeyCredential
    return credential.toJSON() as Record<string, unknown>
  }, options)
}

/** navigator.credentials.get() for the service's options, as the assertion's toJSON(). */
function get (page: Page, options: Json): Promise<Json> {
  return page.evaluate(async (options) => {
    const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options as never) }) as PublicKeyCredential
    return credential.toJSON() as Record<string, unknown>
  }, options)
}

t.test('WebAuthn factors and passkeys in Chromium', { skip: browserUnavailable }, async (t) => {
  const port = await freePort()
  const origin = `http://localhost:${port}`
  let now = Date.now()
  const pglite = testDatabases.find((database) => database.name === 'pglite')!
  const { app, api } = await buildTestApp(t, await pglite.create(t), { PORT: String(port) }, { clock: () => now })
  await app.listen({ host: '127.0.0.1', port })

  // Another origin under the same RP ID: a page there can run a ceremony for `localhost`, which the service must refuse.
  const foreign = createServer((_request, response) => response.end('<!doctype html><title>elsewhere</title>'))
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve))
  t.teardown(() => foreign.close())
  const foreignOrigin = `http://localhost:${(foreign.address() as { port: number }).port}`

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true }
  })
  await page.goto(`${origin}/health/live`)

  const body = newUser()
  const user = (await api.post('/v1/users', body)).body
  const own = await api.loginAs(body.email as string, body.password as string)
  const email = body.email as string
  const password = body.password as string

  let factorId: string
  let firstCredential: Json
  await t.test('registration: a factor, with recovery codes; its challenge works once', async (t) => {
    const options = await own.post(`/v1/users/${user.id}/factors/webauthn/options`, undefined)
    t.equal(options.status, 200)
    t.match(options.body, { rp: { id: 'localhost', name: 'users-service' }, user: { name: email }, authenticatorSelection: { residentKey: 'preferred' } })
    t.same(options.body.pubKeyCredParams.map((parameter: { alg: number }) => parameter.alg), [-8, -7, -257], 'EdDSA, ES256 and RS256')
    const credential = await create(page, options.body)
    const registered = await own.post(`/v1/users/${user.id}/factors/webauthn`, { name: 'Laptop', credential })
    t.equal(registered.status, 201)
    t.match(registered.body.factor, { type: 'webauthn', name: 'Laptop' })
    t.equal(registered.body.recovery_codes.length, 10, 'the first factor brings recovery codes')
    factorId = registered.body.factor.id
    firstCredential = credential
    t.equal((await own.post(`/v1/users/${user.id}/factors/webauthn/options`, undefined)).status, 401, 'another factor needs aal2 now')
  })

  await t.test('second step: a login with password and the credential is aal2', async (t) => {
    const first = await passwordStep(api, email, password)
    t.equal(first.status, 403)
    t.same(first.body.factors, ['webauthn', 'recovery_code'])
    const options = await api.post('/v1/auth/mfa/webauthn-options', { mfa_token: first.body.mfa_token })
    t.equal(options.status, 200)
    t.equal(options.body.allowCredentials.length, 1, 'the user\'s credential')
    const assertion = await get(page, options.body)
    const done = await api.post('/v1/auth/mfa', { mfa_token: first.body.mfa_token, credential: assertion })
    t.equal(done.status, 200)
    t.same(decodeClaims(done.body.access_token).amr, ['pwd', 'hwk', 'mfa'])
    t.equal(decodeClaims(done.body.access_token).acr, 'aal2')
    const listed = await own.get(`/v1/users/${user.id}/factors`)
    t.ok(listed.body.data.find((factor: { id: string }) => factor.id === factorId).last_used_at, 'last_used_at is set')
    t.equal((await api.post('/v1/auth/mfa/webauthn-options', { mfa_token: first.body.mfa_token })).status, 401, 'the mfa_token is used up')
    const reused = await api.withToken(done.body.access_token).post(`/v1/users/${user.id}/factors/webauthn`, { name: 'Again', credential: firstCredential })
    t.equal(reused.status, 400, 'a reused registration challenge is refused, aal2 or not')
    t.equal(reused.body.type, '/problems/invalid-code')
  })

  await t.test('passkey: a discoverable credential with user verification is a whole login', async (t) => {
    const options = await api.post('/v1/auth/passkey/options', undefined)
    t.equal(options.status, 200)
    t.equal(options.body.userVerification, 'required')
    t.same(options.body.allowCredentials ?? [], [], 'any discoverable credential')
    const assertion = await get(page, options.body)
    const done = await api.post('/v1/auth/passkey', { credential: assertion })
    t.equal(done.status, 200)
    const claims = decodeClaims(done.body.access_token)
    t.equal(claims.sub, user.id)
    t.same(claims.amr, ['hwk', 'mfa'])
    t.equal(claims.acr, 'aal2')
    t.equal((await api.post('/v1/auth/passkey', { credential: assertion })).status, 401, 'an assertion replayed is refused')
  })

  await t.test('a stale challenge is refused', async (t) => {
    const options = await api.post('/v1/auth/passkey/options', undefined)
    const assertion = await get(page, options.body)
    now += 6 * 60_000
    const late = await api.post('/v1/auth/passkey', { credential: assertion })
    t.equal(late.status, 401)
    t.equal(late.body.error, 'invalid_grant')
  })

  await t.test('a ceremony from a foreign origin is refused', async (t) => {
    await page.goto(foreignOrigin)
    const options = await api.post('/v1/auth/passkey/options', undefined)
    const assertion = await get(page, options.body)
    t.equal((await api.post('/v1/auth/passkey', { credential: assertion })).status, 401, 'a login')
    // Another user: the authenticator holds the first one's credential, which the options exclude.
    const other = newUser()
    const otherUser = (await api.post('/v1/users', other)).body
    const otherApi = await api.loginAs(other.email as string, other.password as string)
    const creation = await otherApi.post(`/v1/users/${otherUser.id as string}/factors/webauthn/options`, undefined)
    const credential = await create(page, creation.body)
    t.equal((await otherApi.post(`/v1/users/${otherUser.id as string}/factors/webauthn`, { credential })).status, 400, 'a registration')
  })
})
