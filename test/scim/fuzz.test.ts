import fc from 'fast-check'
import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { hostileText } from '../helpers/arbitraries.ts'
import { forEachDatabase } from '../helpers/databases.ts'
import { encodeCursor } from '../../src/http/cursor.ts'
import { SpecValidator } from '../helpers/spec-validator.ts'
import { oktaUser, SCIM_JSON, scimProvider } from '../helpers/scim.ts'

/**
 * SCIM's own inputs, generated: filters from the grammar's pieces (right and wrong),
 * PatchOps and resources with every path and kind of value. Whatever is sent, no 5xx,
 * and every answer is a document the OpenAPI document describes. FUZZ_SEED and
 * FUZZ_RUNS reproduce or widen a run.
 */
const seed = Number(process.env.FUZZ_SEED ?? 20261203)
const numRuns = Number(process.env.FUZZ_RUNS ?? 150)

const attributes = fc.constantFrom('userName', 'USERNAME', 'externalId', 'id', 'displayName', 'name.givenName', 'name.formatted', 'emails', 'emails.value', 'emails.type', 'active', 'meta.created', 'meta.lastModified', 'urn:ietf:params:scim:schemas:core:2.0:User:userName', 'title', 'x', '', 'name.', 'emails[type eq "work"].value', 'members.value')
const operators = fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'EQ', 'Sw', 'pr', 'like', '=')
const values = fc.oneof(
  fc.string({ maxLength: 12 }).map((text) => JSON.stringify(text)),
  hostileText.map((text) => JSON.stringify(text)),
  fc.constantFrom('true', 'false', 'null', '"True"', '12', '-1.5e3', '"2026-01-01T00:00:00Z"', '"not a date"', '"0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8b"', '"', 'undefined', '"\\u0000"')
)
const comparison = fc.oneof(
  fc.tuple(attributes, operators, values).map(([attribute, op, value]) => op === 'pr' ? `${attribute} pr` : `${attribute} ${op} ${value}`),
  fc.tuple(fc.constantFrom('emails', 'phoneNumbers', 'name'), attributes, operators, values).map(([outer, attribute, op, value]) => `${outer}[${attribute.replace(/^.*\./, '')} ${op} ${value}]`)
)
const filter: fc.Arbitrary<string> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    fc.tuple(tie('node'), fc.constantFrom('and', 'or', 'AND', 'xor'), tie('node')).map(([a, op, b]) => `${a as string} ${op} ${b as string}`),
    tie('node').map((inner) => `not (${inner as string})`),
    tie('node').map((inner) => `(${inner as string}`),
    fc.string({ maxLength: 20 })
  )
})).node as fc.Arbitrary<string>

const paths = fc.oneof(
  fc.constantFrom('userName', 'externalId', 'displayName', 'name', 'name.givenName', 'name.familyName', 'name.middleName', 'active', 'password', 'emails', 'emails[type eq "work"].value', 'emails[type eq "home"].value', 'emails[primary eq true]', 'id', 'meta', 'meta.version', 'groups', 'title', 'phoneNumbers[type eq "work"].value', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', 'members', 'members[value eq "x"]', '', ' '),
  hostileText
)
const scalar = fc.oneof(fc.string({ maxLength: 20 }), hostileText, fc.boolean(), fc.constantFrom('True', 'False', null, 0, -1, 1e308, 'x@example.com', 'GRACE@EXAMPLE.COM', 'correct horse battery', 'a'.repeat(300)))
const value = fc.oneof(
  scalar,
  fc.array(fc.record({ value: scalar, type: fc.constantFrom('work', 'home', 7), primary: fc.constantFrom(true, false, 'True') }, { requiredKeys: [] }), { maxLength: 3 }),
  fc.dictionary(fc.oneof(paths, fc.constantFrom('active', 'displayName', 'name.givenName', 'userName')), scalar, { maxKeys: 4 })
)
const operation = fc.record({ op: fc.constantFrom('add', 'replace', 'remove', 'Replace', 'REMOVE', 'merge', 1), path: paths, value }, { requiredKeys: ['op'] })
// Operations a provider could well send, so that many PATCHes get through and their results are checked too.
const plausible = fc.oneof(
  fc.record({ op: fc.constantFrom('replace', 'Replace', 'add'), path: fc.constantFrom('displayName', 'name.givenName', 'name.familyName', 'title', 'externalId'), value: fc.string({ minLength: 1, maxLength: 30 }) }),
  fc.record({ op: fc.constantFrom('replace', 'Replace'), path: fc.constant('active'), value: fc.constantFrom(true, false, 'True', 'False') }),
  fc.record({ op: fc.constant('remove'), path: fc.constantFrom('name.givenName', 'displayName', 'externalId', 'title') }),
  fc.record({ op: fc.constant('replace'), value: fc.record({ displayName: fc.string({ minLength: 1, maxLength: 20 }), active: fc.boolean() }, { requiredKeys: [] }) })
)
const patchBody = fc.oneof(
  { weight: 4, arbitrary: fc.array(plausible, { minLength: 1, maxLength: 3 }).map((Operations) => JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations })) },
  { weight: 6, arbitrary: fc.array(operation, { maxLength: 4 }).map((Operations) => JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations })) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.json()) }
)
const resourceBody = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fc.oneof(paths, fc.constantFrom('userName', 'emails', 'name', 'active', 'externalId', 'password', 'schemas')), value, { maxKeys: 6 }).map((resource) => JSON.stringify(resource)) },
  { weight: 2, arbitrary: fc.record({ userName: fc.oneof(fc.emailAddress(), scalar), externalId: scalar, active: scalar, name: value }, { requiredKeys: ['userName'] }).map((resource) => JSON.stringify(resource)) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.json()) }
)
const forgedCursor = fc.tuple(fc.string({ maxLength: 40 }), hostileText).map(([key, id]) => encodeCursor({ sort: 'scim', filters: { filter: undefined } }, { key, id }))
const query = fc.record({
  filter: fc.option(filter, { nil: undefined }),
  startIndex: fc.option(fc.oneof(fc.integer({ min: -5, max: 1_000_000 }).map(String), fc.constantFrom('0x1', '', 'a')), { nil: undefined }),
  count: fc.option(fc.oneof(fc.integer({ min: -1, max: 10_000 }).map(String), fc.constantFrom('1e1', '')), { nil: undefined }),
  cursor: fc.option(fc.oneof(fc.constant(''), fc.string({ maxLength: 30 }), forgedCursor), { nil: undefined }),
  attributes: fc.option(fc.oneof(fc.constantFrom('userName,name.givenName', 'members', 'meta.version', ''), hostileText), { nil: undefined }),
  excludedAttributes: fc.option(fc.constantFrom('emails', 'members', 'name.familyName', 'x'), { nil: undefined })
}, { requiredKeys: [] })

forEachDatabase(t, async (t, database) => {
  const { app, admin } = await buildTestApp(t, await database.create(t))
  const { api, key: apiKey } = await scimProvider(admin)
  const ids: string[] = []
  for (let index = 0; index < 3; index++) ids.push((await api.post('/scim/v2/Users', JSON.stringify(oktaUser()), SCIM_JSON)).body.id)
  const validator = new SpecValidator(app.swagger() as never)
  const target = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ids, 'a5c1d1a0-0000-4000-8000-000000000001', 'a5c1d1a0-0000-4000-8000-000000000002') }, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: hostileText.map(encodeURIComponent) })
  const request = fc.oneof(
    fc.record({ method: fc.constant('GET'), url: fc.tuple(fc.constantFrom('/scim/v2/Users', '/scim/v2/Groups'), query).map(([path, parameters]) => `${path}?${new URLSearchParams(Object.entries(parameters).filter(([, v]) => v !== undefined) as Array<[string, string]>)}`) }),
    fc.record({ method: fc.constant('PATCH'), url: fc.tuple(fc.constantFrom('Users', 'Groups'), target).map(([kind, id]) => `/scim/v2/${kind}/${id}`), body: patchBody }),
    fc.record({ method: fc.constant('POST'), url: fc.constant('/scim/v2/Users'), body: resourceBody }),
    fc.record({ method: fc.constant('PUT'), url: target.map((id) => `/scim/v2/Users/${id}`), body: resourceBody })
  )
  const statuses = new Map<string, number>()

  const property = fc.asyncProperty(request, async ({ method, url, body }: { method: string, url: string, body?: string }) => {
    const response = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : SCIM_JSON) }, ...(body === undefined ? {} : { payload: body }) })
    const key = `${method} ${url.split('?')[0]!.split('/').slice(0, 4).join('/')} ${response.statusCode}`
    statuses.set(key, (statuses.get(key) ?? 0) + 1)
    if (response.statusCode >= 500) throw new Error(`${response.statusCode}: ${response.body}`)
    const problems = validator.problems({ method, path: url.split('?')[0]!, status: response.statusCode, contentType: response.headers['content-type']?.toString(), body: response.body })
    if (problems.length > 0) throw new Error(`not as documented: ${problems.join('; ')}`)
  })

  const outcome = await fc.check(property, { seed, numRuns })
  if (outcome.failed) t.fail(`${fc.defaultReportMessage(outcome)}\nreproduce with FUZZ_SEED=${seed}`)
  else t.pass(`${outcome.numRuns} cases`)
  t.equal(outcome.numRuns, numRuns, 'every case ran')
  t.comment([...statuses].sort().map(([key, count]) => `${key}: ${count}`).join(', '))
  t.ok([...statuses.keys()].some((key) => / 2\d\d$/.test(key)), 'some requests succeed')
  t.ok([...statuses.keys()].some((key) => / 400$/.test(key)), 'some are refused')
})
