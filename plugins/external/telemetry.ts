import { FastifyOtelInstrumentation } from '@fastify/otel'
import { context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { QueryObserver } from '../../src/db/observe.ts'
import { packageInfo } from '../../src/runtime/project-root.ts'

export interface TelemetryPluginOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; spans go to `<endpoint>/v1/traces`. */
  endpoint: string
  serviceName: string
}

// Probes and scrapes arrive every few seconds from every replica: spans of them would drown the traces that matter.
const UNTRACED = /^\/(health\/|metrics$)/

const STATEMENT = /^\s*(\w+)/
const TABLE = /\b(?:from|into|update)\s+"?(\w+)"?/i

/**
 * The context manager and propagator are process-wide by OpenTelemetry's design; the
 * first app to need them installs them, later ones (tests build many) find them there.
 */
let globalsInstalled = false
function installGlobals (): void {
  if (globalsInstalled) return
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  globalsInstalled = true
}

/** A CLIENT span per statement, a child of the request's span; statements outside a request are not traced. */
function statementSpans (tracer: Tracer, system: string): QueryObserver {
  return (statement) => {
    const parent = context.active()
    if (trace.getSpan(parent) === undefined) return () => {}
    const operation = STATEMENT.exec(statement)?.[1]?.toUpperCase() ?? 'QUERY'
    const table = TABLE.exec(statement)?.[1]
    // Drizzle sends parameterised statements: the text holds placeholders, never values.
    const span = tracer.startSpan(table === undefined ? operation : `${operation} ${table}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system.name': system,
        'db.operation.name': operation,
        'db.query.text': statement,
        ...(table === undefined ? {} : { 'db.collection.name': table })
      }
    }, parent)
    return (error) => {
      // The SQLSTATE or error name only: a driver's message can quote the values of the row.
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as { code?: unknown }).code ?? (error as Error).name) })
      span.end()
    }
  }
}

/**
 * OpenTelemetry traces, exported over OTLP/HTTP: a span per request (continuing an
 * incoming W3C `traceparent`) from @fastify/otel, and a child span per database
 * statement. app.ts registers it only when an endpoint is configured, so without one
 * nothing is loaded into the request path.
 */
async function telemetryPlugin (app: FastifyInstance, { endpoint, serviceName }: TelemetryPluginOptions): Promise<void> {
  installGlobals()
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName, [ATTR_SERVICE_VERSION]: packageInfo.version }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: new URL('v1/traces', endpoint.endsWith('/') ? endpoint : `${endpoint}/`).toString() }))]
  })
  const instrumentation = new FastifyOtelInstrumentation({ ignorePaths: ({ url }: { url: string }) => UNTRACED.test(url) })
  instrumentation.setTracerProvider(provider)
  await app.register(instrumentation.plugin())

  const tracer = provider.getTracer('users-service', packageInfo.version)
  app.database.observers.add(statementSpans(tracer, 'postgresql'))
  // Spans still in the batch are sent before the process exits.
  app.addHook('onClose', () => provider.shutdown())
}

export default fp(telemetryPlugin, { name: 'telemetry', fastify: '5.x', dependencies: ['database'] })
