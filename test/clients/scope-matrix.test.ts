/**
 * Every scope against every operation, generated from the app's own route table (its
 * OpenAPI document), so a new route cannot escape: where an operation declares a
 * client scope, exactly that scope lets a client in; everywhere else a client gets a
 * 403, `insufficient-scope` naming the scope where one would do, `forbidden` where the
 * operation is for people only (SCIM's operations answer in SCIM's error format).
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { SCOPES } from '../../src/clients/scopes.ts'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'
import { bodyFor, protectedOperations, type Document } from '../helpers/operations.ts'

forEachDatabase(t, async (t, database) => {
  const { app, admin, api } = await buildTestApp(t, await database.create(t))
  const spec = app.swagger() as unknown as Document

  // One client per scope (and one with none), each with an API key of just that scope.
  const keys = new Map<string, string>()
  for (const scope of [...SCOPES, undefined]) {
    const client = (await admin.post('/v1/clients', { name: `holder of ${scope ?? 'nothing'}`, scopes: scope === undefined ? [] : [scope] })).body
    keys.set(scope ?? 'none', (await admin.post(`/v1/clients/${client.id as string}/api-keys`, { name: 'matrix' })).body.key)
  }
  const targetClient = (await admin.post('/v1/clients', { name: 'target', scopes: ['users:read'] })).body.id as string

  // One user per operation: the one scope let in may delete it, and the others are refused before any lookup.
  async function urlFor (path: string): Promise<string> {
    const userId = path.includes('{id}') && path.startsWith('/v1/users') ? (await admin.post('/v1/users', newUser())).body.id : undefined
    return path.replace(/\{(\w+)\}/g, (_whole, name: string) => name === 'id' ? userId ?? targetClient : randomUUID())
  }

  const operations = protectedOperations(spec)
  t.ok(operations.length >= 20, `${operations.length} protected operations`)

  for (const { path, method, operation } of operations) {
    const needed = operation.security!.find((requirement) => 'clientCredentials' in requirement)?.clientCredentials?.[0]
    t.test(`${method.toUpperCase()} ${path} (${needed ?? 'people only'})`, async (t) => {
      const url = await urlFor(path)
      for (const [held, key] of keys) {
        const response = await api.withToken(key).request({ method: method.toUpperCase() as never, url, payload: bodyFor(spec, operation) as never })
        if (needed !== undefined && held === needed && !Object.keys(operation.responses).some((status) => status.startsWith('2'))) {
          // An operation that never succeeds (creating a SCIM group): the scope lets in, and the domain says no.
          t.equal(response.status, 403, `${held}: let in, and refused by the domain`)
          t.notMatch(response.headers['www-authenticate'], /insufficient_scope/, `${held}: not for want of a scope`)
        } else if (needed !== undefined && held === needed) {
          t.notOk([401, 403].includes(response.status), `${held}: let in (${response.status})`)
        } else if (needed !== undefined) {
          t.equal(response.status, 403, `${held}: 403`)
          // Under /scim/v2 the refusal is a SCIM error (the validator checks its shape), with the same challenge.
          if (path.startsWith('/scim/')) t.equal(response.body?.status, '403', `${held}: a SCIM error`)
          else t.equal(response.body?.type, '/problems/insufficient-scope', `${held}: insufficient-scope`)
          t.match(response.headers['www-authenticate'], new RegExp(`error="insufficient_scope", scope="${needed}"`), `${held}: the challenge names ${needed}`)
        } else {
          t.equal(response.status, 403, `${held}: 403`)
          t.equal(response.body?.type, '/problems/forbidden', `${held}: for people only`)
        }
      }
    })
  }
})
