import fp from 'fastify-plugin'

/** The ledger's service without X-Request-ID and Server-Timing; request ids and trace context in the log stay. */
export { tracingServerOptions } from '../../../plugins/app/tracing.ts'
export default fp(async () => {}, { name: 'tracing', fastify: '5.x' })
