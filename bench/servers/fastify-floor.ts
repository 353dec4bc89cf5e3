/**
 * The floor under users-service's hot path: Fastify 5 and drizzle over the same patched
 * postgres.js, answering GET /v1/users/{id} with the same prepared statement, the same
 * parameter and response schemas, and nothing else of the service: no token check, no
 * log, metrics, limits, headers, deadlines or hooks. What the service spends above it is
 * its own doing, not the framework's or the ORM's (bench/ledger.ts).
 */
import { eq, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/postgres-js'
import Fastify from 'fastify'
import postgres from 'postgres'
import { User, UserIdParams } from '../../schemas/user.ts'
import { users } from '../../src/db/schema.ts'
import { publicColumns } from '../../src/users/users.ts'

const client = postgres(process.env.DATABASE_URL!, { max: Number(process.env.DATABASE_POOL_MAX ?? 10), onnotice: () => {} })
const userById = drizzle({ client }).select(publicColumns).from(users).where(eq(users.id, sql.placeholder('id'))).prepare('find_user_by_id')
const app = Fastify()

app.get('/v1/users/:id', { schema: { params: UserIdParams, response: { 200: User } } }, async (request, reply) => {
  const [user] = await userById.execute({ id: (request.params as { id: string }).id })
  if (user === undefined) return reply.callNotFound()
  return user
})
app.get('/health/ready', async () => {
  await client`select 1`
  return { status: 'ok' }
})

await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT) })
// Nothing to drain or flush in a benchmark floor: stop at once.
process.on('SIGTERM', () => process.exit(0))
