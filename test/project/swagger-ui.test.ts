import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { projectRoot } from '../../src/runtime/project-root.ts'
import { buildTestApp } from '../helpers/app.ts'
import { testDatabases } from '../helpers/databases.ts'
import { browserUnavailable, launchChromium } from '../helpers/browser.ts'

t.test('Swagger UI in a real browser: every operation, Authorize with email and password and as a machine client, Try it out', { skip: browserUnavailable }, async (t) => {
  const pglite = testDatabases.find((database) => database.name === 'pglite')!
  const { app, admin, signUp } = await buildTestApp(t, await pglite.create(t))
  const machine = (await admin.post('/v1/clients', { name: 'swagger', scopes: ['users:read'] })).body
  const password = 'a password typed into the dialog'
  const { user } = await signUp({ password })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } })
  const leaving: string[] = []
  await page.route('**/*', async (route) => {
    if (route.request().url().startsWith(origin)) return route.continue()
    leaving.push(route.request().url())
    return route.abort()
  })

  await page.goto(`${origin}/docs`)
  await page.locator('.opblock').first().waitFor()
  type Operations = Record<string, Record<string, { operationId: string, tags: string[] }>>
  const document = app.swagger() as unknown as { paths: Operations, webhooks: Operations }
  const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods))
  const webhooks = Object.values(document.webhooks).flatMap((methods) => Object.values(methods))
  t.equal(await page.locator('.opblock').count(), operations.length + webhooks.length, 'one block per operation, and per webhook')
  t.equal(await page.locator('.opblock', { hasText: 'A change to a user' }).count(), 1, 'the webhook call is shown')
  for (const { operationId, tags } of operations) {
    t.equal(await page.locator(`#operations-${tags[0]}-${operationId}`).count(), 1, `${operationId} is on the page`)
  }

  // The OAuth 2 password flow: Swagger UI posts the form to the token endpoint itself.
  await page.locator('.auth-wrapper .authorize').click()
  const oauth = page.locator('.modal-ux .auth-container').filter({ has: page.locator('#oauth_username') })
  await oauth.locator('#oauth_username').fill(user.email)
  await oauth.locator('#oauth_password').fill(password)
  await oauth.locator('.auth-btn-wrapper .authorize').click()
  // Swagger UI offers Logout once the token endpoint has answered with a token.
  // Swagger UI says so, and offers Logout, once the token endpoint has answered with a token.
  await page.locator('.modal-ux').getByText('Authorized', { exact: true }).waitFor()
  t.equal(await page.locator('.modal-ux button', { hasText: 'Logout' }).count(), 1, 'the dialog is authorized')
  await page.locator('.modal-ux .close-modal').click()

  const me = page.locator('#operations-users-getCurrentUser')
  await me.locator('.opblock-summary').click()
  await me.locator('.try-out__btn').click()
  await me.locator('.execute').click()
  const status = me.locator('.live-responses-table .response .response-col_status').first()
  await status.waitFor()
  t.equal((await status.innerText()).trim(), '200', 'the page shows a 200')
  t.match(await me.locator('.live-responses-table .response-col_description .highlight-code').first().innerText(), user.email, 'and the caller in the body')

  // The client credentials flow: a machine client's id and secret, a scope, and Swagger UI gets the token.
  await page.locator('.auth-wrapper .authorize').click()
  const clientFlow = page.locator('.modal-ux .auth-container').filter({ hasText: 'clientCredentials' })
  await clientFlow.locator('input[id^="client_id"]').fill(machine.id)
  await clientFlow.locator('input[id^="client_secret"]').fill(machine.client_secret)
  await clientFlow.locator('.scopes label', { hasText: 'users:read' }).click()
  await clientFlow.locator('.auth-btn-wrapper .authorize').click()
  await clientFlow.getByText('Authorized', { exact: true }).waitFor()
  t.equal(await clientFlow.locator('button', { hasText: 'Logout' }).count(), 1, 'the client credentials flow is authorized too')
  await page.locator('.modal-ux .close-modal').click()

  const artifacts = join(projectRoot, 'test', 'artifacts')
  await mkdir(artifacts, { recursive: true })
  await page.screenshot({ path: join(artifacts, 'swagger-ui.png'), fullPage: true })
  await me.screenshot({ path: join(artifacts, 'swagger-ui-get-current-user.png') })
  t.same(leaving, [], 'no request leaves the machine')
})
