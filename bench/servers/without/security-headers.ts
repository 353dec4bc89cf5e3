import fp from 'fastify-plugin'

/** The ledger's service without security headers: the plugin registers under its name and does nothing. */
export default fp(async () => {}, { name: 'security-headers', fastify: '5.x' })
