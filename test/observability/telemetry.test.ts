import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { forEachDatabase, testDatabases } from '../helpers/databases.ts'

interface ExportedSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes: Array<{ key: string, value: Record<string, unknown> }>
}

const SPAN_KIND_SERVER = 2
const SPAN_KIND_CLIENT = 3

/** An OTLP/HTTP (JSON) trace receiver on a loopback port, as a collector would be. */
async function otlpReceiver (t: Test): Promise<{ endpoint: string, spans: ExportedSpan[], resources: unknown[] }> {
  const spans: ExportedSpan[] = []
  const resources: unknown[] = []
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans: Array<{ resource: unknown, scopeSpans: Array<{ spans: ExportedSpan[] }> }> }
        for (const { resource, scopeSpans } of body.resourceSpans) {
          resources.push(resource)
          for (const scope of scopeSpans) spans.push(...scope.spans)
        }
      }
      response.writeHead(request.url === '/v1/traces' ? 200 : 404, { 'content-type': 'application/json' }).end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, spans, resources }
}

function attribute (span: ExportedSpan, key: string): unknown {
  const value = span.attributes.find((entry) => entry.key === key)?.value
  return value === undefined ? undefined : Object.values(value)[0]
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_SPAN_ID = '00f067aa0ba902b7'

t.test('with an OTLP endpoint, requests and their statements are traced', async (t) => {
  forEachDatabase(t, async (t, database) => {
    const receiver = await otlpReceiver(t)
    const { app, admin } = await buildTestApp(t, await database.create(t), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SERVICE_NAME: 'users-test' })
    const me = await admin.get('/v1/users/me', { traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01` })
    t.equal(me.status, 200)
    await admin.get('/health/ready')
    await admin.get('/v1/users/me')
    // Closing flushes the spans still in the batch.
    await app.close()

    const requestSpans = receiver.spans.filter((span) => span.name === 'request')
    t.equal(requestSpans.length, 4, 'a span per request (the helper\'s log-in and read, then the two reads here), none for the probe')
    const continued = requestSpans.find((span) => span.traceId === TRACE_ID)
    if (continued === undefined) {
      t.fail('the incoming traceparent is continued')
      return
    }
    t.equal(continued.parentSpanId, PARENT_SPAN_ID, 'the caller\'s span is the parent')
    t.equal(continued.kind, SPAN_KIND_SERVER)
    t.equal(attribute(continued, 'http.route'), '/v1/users/me')
    t.equal(attribute(continued, 'http.response.status_code'), 200)

    const inTrace = receiver.spans.filter((span) => span.traceId === TRACE_ID)
    const ids = new Set(inTrace.map((span) => span.spanId))
    const statements = inTrace.filter((span) => span.kind === SPAN_KIND_CLIENT)
    t.ok(statements.length >= 1, 'the database statements of that request are spans of its trace')
    for (const statement of statements) {
      t.ok(statement.parentSpanId !== undefined && ids.has(statement.parentSpanId), `${statement.name} hangs under the request`)
      t.equal(attribute(statement, 'db.system.name'), 'postgresql')
      t.match(statement.name, /^SELECT users$/)
      t.notMatch(String(attribute(statement, 'db.query.text')), /@example\.com/, 'statements carry placeholders, never values')
    }
    t.ok(receiver.spans.every((span) => attribute(span, 'url.path') !== '/health/ready'), 'probes are not traced')
    t.match(JSON.stringify(receiver.resources[0]), /"service\.name","value":\{"stringValue":"users-test"\}/)
  })
})

t.test('without an endpoint nothing is instrumented', async (t) => {
  const pglite = testDatabases.find((database) => database.name === 'pglite')!
  const { app } = await buildTestApp(t, await pglite.create(t))
  t.notOk(app.hasRequestDecorator('opentelemetry'), 'no request hooks, no spans, no exporter')
})
