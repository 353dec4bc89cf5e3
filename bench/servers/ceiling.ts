/**
 * The ceiling: a bare node:http server with postgres.js running the same queries as
 * users-service and answering with JSON.stringify. No framework, no auth, no
 * validation, no logging: what the machine and the database allow.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { hash } from '@node-rs/argon2'
import postgres from 'postgres'
import { uuidv7 } from 'uuidv7'

const sql = postgres(process.env.DATABASE_URL!, { max: Number(process.env.DATABASE_POOL_MAX ?? 10), onnotice: () => {} })
const PAGE = /^\/v1\/users\/([0-9a-f-]{36})$/

function send (response: ServerResponse, status: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
}

async function readJson (request: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString()) as Record<string, string>
}

async function route (request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost')
  const byId = PAGE.exec(url.pathname)
  if (request.method === 'GET' && byId !== null) {
    const [user] = await sql`select id, email, name, role, created_at, updated_at from users where id = ${byId[1]!}`
    return user === undefined ? send(response, 404) : send(response, 200, user)
  }
  if (request.method === 'GET' && url.pathname === '/v1/users') {
    const limit = Number(url.searchParams.get('limit') ?? 20)
    const after = url.searchParams.get('cursor')
    const rows = after === null
      ? await sql`select id, email, name, role, created_at, updated_at from users order by id limit ${limit + 1}`
      : await sql`select id, email, name, role, created_at, updated_at from users where id > ${after} order by id limit ${limit + 1}`
    const data = rows.slice(0, limit)
    return send(response, 200, { data, next_cursor: rows.length > limit ? data.at(-1)!.id : null })
  }
  if (request.method === 'POST' && url.pathname === '/v1/users') {
    const body = await readJson(request)
    const passwordHash = await hash(body.password!, { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 })
    const [user] = await sql`insert into users (id, email, name, password_hash) values (${uuidv7()}, ${body.email!.toLowerCase()}, ${body.name!}, ${passwordHash})
      returning id, email, name, role, created_at, updated_at`
    return send(response, 201, user)
  }
  if (request.method === 'GET' && url.pathname === '/health/ready') {
    await sql`select 1`
    return send(response, 200, { status: 'ok' })
  }
  send(response, 404)
}

const server = createServer((request, response) => {
  route(request, response).catch(() => send(response, 500))
})
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1')
// Nothing to drain or flush in a benchmark peer: stop at once.
process.on('SIGTERM', () => process.exit(0))
