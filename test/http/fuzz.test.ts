import fc from 'fast-check'
import { importJWK, SignJWT } from 'jose'
import t from 'tap'
import { buildTestApp, TEST_SIGNING_KEYS, tokenFor } from '../helpers/app.ts'
import { type Components, hostileText, invalidValue, type Schema, validValue } from '../helpers/arbitraries.ts'
import { testDatabases } from '../helpers/databases.ts'
import { SpecValidator } from '../helpers/spec-validator.ts'

/**
 * Property-based requests generated from the OpenAPI document: valid and invalid bodies,
 * parameters and credentials for every operation. Whatever is sent, the service never
 * answers 5xx, and every answer (problems included) matches the document.
 * Seeded and bounded: FUZZ_SEED and FUZZ_RUNS reproduce or widen a run.
 */
const seed = Number(process.env.FUZZ_SEED ?? 20261122)
const numRuns = Number(process.env.FUZZ_RUNS ?? 300)

interface Parameter { in: 'path' | 'query' | 'header', name: string, schema: Schema }
interface Operation { operationId: string, parameters?: Parameter[], requestBody?: { content: Record<string, { schema: Schema }> } }
interface Document { paths: Record<string, Record<string, Operation>>, components: { schemas: Components } }

// 'malformed-claims': signed by the service's own key, with a sub and sid no query could take.
type Credentials = 'none' | 'user' | 'admin' | 'garbage' | 'malformed-claims'

interface FuzzRequest {
  operationId: string
  method: string
  url: string
  credentials: Credentials
  headers: Record<string, string>
  body?: { contentType: string, text: string, bytes?: Buffer }
}

/** The JSON with a malformed UTF-8 sequence at the start of its first string (or as a member name). */
function withInvalidUtf8 (text: string): Buffer {
  const at = text.indexOf('"') + 1
  const invalid = Buffer.from([0xc3, 0x28])
  return at === 0 ? Buffer.concat([Buffer.from('{"'), invalid, Buffer.from('":1}')]) : Buffer.concat([Buffer.from(text.slice(0, at)), invalid, Buffer.from(text.slice(at))])
}

function bodyArbitrary (schema: Schema, components: Components, method: string): fc.Arbitrary<FuzzRequest['body']> {
  const json = method === 'PATCH' ? fc.constantFrom('application/json', 'application/merge-patch+json') : fc.constant('application/json')
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(json, validValue(schema, components)).map(([contentType, value]) => ({ contentType, text: JSON.stringify(value) })) },
    { weight: 4, arbitrary: fc.tuple(json, invalidValue(schema, components)).map(([contentType, value]) => ({ contentType, text: JSON.stringify(value) })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((text) => ({ contentType: 'application/json', text: `{${text}` })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((text) => ({ contentType: 'text/plain', text })) },
    // Bytes that are not UTF-8 inside otherwise good JSON: a 400, never stored as U+FFFD.
    { weight: 1, arbitrary: fc.tuple(json, validValue(schema, components)).map(([contentType, value]) => ({ contentType, text: '', bytes: withInvalidUtf8(JSON.stringify(value)) })) }
  )
}

function requestArbitrary (document: Document, knownIds: string[]): fc.Arbitrary<FuzzRequest> {
  const components = document.components.schemas
  const operations = Object.entries(document.paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ template, method: method.toUpperCase(), operation })))
  const known = fc.constantFrom(...knownIds)
  const id = fc.oneof(
    known,
    fc.uuid(),
    fc.string({ minLength: 1, maxLength: 40 }),
    known.map((value) => value.toUpperCase()),
    known.map((value) => `urn:uuid:${value}`),
    hostileText
  )
  // Integers written other than in decimal, which Number() would read anyway.
  const malformedInteger = fc.constantFrom('0x10', '1e1', ' 16', '', '16.0', '+5', '-0', '0b11')
  const tag = fc.constantFrom('"1"', '"2"', '*', 'W/"1"', '"999"', 'garbage')

  return fc.constantFrom(...operations).chain(({ template, method, operation }) => {
    const parameters = operation.parameters ?? []
    const query = parameters.filter((parameter) => parameter.in === 'query').map((parameter) =>
      fc.option(fc.oneof(
        { weight: 3, arbitrary: validValue(parameter.schema, components) },
        { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
        { weight: 1, arbitrary: hostileText },
        { weight: 1, arbitrary: malformedInteger }
      ), { nil: undefined, freq: 2 }).map((value) => [parameter.name, value] as const))
    // Parameters the operation does not define, the bracketed kind among them.
    const unknownParameter = fc.option(fc.tuple(fc.constantFrom('role[]', 'admin', 'access_token', 'limit[]', 'x'), fc.string({ maxLength: 10 })), { nil: undefined, freq: 4 })
    const bodySchema = operation.requestBody?.content['application/json']?.schema
    return fc.record({
      path: fc.tuple(id, id).map(([value, other]) => template.replace('{id}', encodeURIComponent(value)).replace('{session_id}', encodeURIComponent(other))),
      query: fc.tuple(...query),
      extra: unknownParameter,
      credentials: fc.constantFrom<Credentials>('none', 'user', 'admin', 'garbage', 'malformed-claims'),
      ifMatch: fc.option(tag, { nil: undefined }),
      ifNoneMatch: fc.option(tag, { nil: undefined }),
      idempotencyKey: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
      body: bodySchema === undefined ? fc.constant(undefined) : bodyArbitrary(bodySchema, components, method)
    }).map(({ path, query, extra, credentials, ifMatch, ifNoneMatch, idempotencyKey, body }) => {
      const search = new URLSearchParams()
      for (const [name, value] of query) if (value !== undefined) search.set(name, String(value))
      if (extra !== undefined) search.append(...extra)
      const headers: Record<string, string> = {}
      if (ifMatch !== undefined) headers['if-match'] = ifMatch
      if (ifNoneMatch !== undefined) headers['if-none-match'] = ifNoneMatch
      if (idempotencyKey !== undefined && method === 'POST') headers['idempotency-key'] = idempotencyKey
      return { operationId: operation.operationId, method, url: search.size === 0 ? path : `${path}?${search}`, credentials, headers, ...(body === undefined ? {} : { body }) }
    })
  })
}

/** The token re-signed by the service's own key with a sub and sid that are not UUIDs. */
async function withMalformedClaims (token: string): Promise<string> {
  const ours = (JSON.parse(TEST_SIGNING_KEYS) as { keys: Array<Record<string, string>> }).keys[0]!
  const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>)
  return new SignJWT({ ...payload, sub: "1' or '1'='1", sid: 'not-a-uuid' }).setProtectedHeader(header as { alg: string }).sign(await importJWK(ours, ours.alg))
}

t.test(`${numRuns} generated requests (seed ${seed}): no 5xx, every answer as documented`, async (t) => {
  const pglite = testDatabases.find((database) => database.name === 'pglite')!
  const { app, adminId, signUp } = await buildTestApp(t, await pglite.create(t))
  const { user, token: userToken } = await signUp()
  const adminToken = await tokenFor(app, adminId, 'admin')
  const tokens: Record<Credentials, string | undefined> = { none: undefined, user: userToken, admin: adminToken, garbage: 'not.a.token', 'malformed-claims': await withMalformedClaims(adminToken) }
  const document = app.swagger() as unknown as Document
  const validator = new SpecValidator(document as never)
  const statuses = new Map<string, number>()

  const property = fc.asyncProperty(requestArbitrary(document, [adminId, user.id]), async (request) => {
    const token = tokens[request.credentials]
    const response = await app.inject({
      method: request.method as 'GET',
      url: request.url,
      headers: {
        ...request.headers,
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(request.body === undefined ? {} : { 'content-type': request.body.contentType })
      },
      ...(request.body === undefined ? {} : { payload: request.body.bytes ?? request.body.text })
    })
    const key = `${request.operationId} ${response.statusCode}`
    statuses.set(key, (statuses.get(key) ?? 0) + 1)
    if (response.statusCode >= 500) throw new Error(`${response.statusCode}: ${response.body}`)
    const problems = validator.problems({
      method: request.method,
      path: request.url.split('?')[0]!,
      status: response.statusCode,
      contentType: response.headers['content-type']?.toString(),
      body: response.body
    })
    if (problems.length > 0) throw new Error(`not as documented: ${problems.join('; ')}`)
  })

  const outcome = await fc.check(property, { seed, numRuns })
  if (outcome.failed) t.fail(`${fc.defaultReportMessage(outcome)}\nreproduce with FUZZ_SEED=${seed}`)
  else t.pass(`${outcome.numRuns} cases`)
  t.equal(outcome.numRuns, numRuns, 'every case ran')
  t.comment([...statuses].sort().map(([key, count]) => `${key}: ${count}`).join(', '))
  t.ok([...statuses.keys()].some((key) => / 2\d\d$/.test(key)), 'some requests succeed')
  t.ok([...statuses.keys()].some((key) => / 4\d\d$/.test(key)), 'some are refused')
})
