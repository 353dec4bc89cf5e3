/**
 * The peer: the same endpoints written the way many teams would in Express 5 with its
 * usual middleware (jose, express-rate-limit, ajv, pino-http) over postgres.js.
 * Same semantics where they cost something: EdDSA tokens checked against the JWKS for
 * typ/iss/aud/exp, the
 * caller's role read from the database on every request, bodies validated.
 */
import { hash } from '@node-rs/argon2'
import { Ajv } from 'ajv'
import formats from 'ajv-formats'
import express, { type NextFunction, type Request, type Response } from 'express'
import { rateLimit } from 'express-rate-limit'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { pinoHttp } from 'pino-http'
import postgres from 'postgres'
import { uuidv7 } from 'uuidv7'

const addFormats = formats as unknown as typeof formats.default
const sql = postgres(process.env.DATABASE_URL!, { max: Number(process.env.DATABASE_POOL_MAX ?? 10), onnotice: () => {} })
const publicKeys = createLocalJWKSet(JSON.parse(process.env.JWT_PUBLIC_JWKS!))
const ajv = new Ajv({ allErrors: true })
addFormats(ajv)
const validId = ajv.compile({ type: 'string', format: 'uuid' })
const validSignUp = ajv.compile({
  type: 'object',
  additionalProperties: false,
  required: ['email', 'name', 'password'],
  properties: {
    email: { type: 'string', format: 'email', maxLength: 254 },
    name: { type: 'string', minLength: 1, maxLength: 100 },
    password: { type: 'string', minLength: 8, maxLength: 128 }
  }
})

type Authenticated = Request & { principal?: { id: string, role: string } }

async function authenticate (request: Authenticated, response: Response, next: NextFunction): Promise<void> {
  const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
  try {
    const { payload: claims } = await jwtVerify(token ?? '', publicKeys, { algorithms: ['EdDSA', 'ES256'], issuer: 'users-service', audience: 'users-service', typ: 'at+jwt' }) as { payload: { sub: string } }
    const [user] = await sql`select role from users where id = ${claims.sub}`
    if (user === undefined) throw new Error('no such user')
    request.principal = { id: claims.sub, role: user.role as string }
    next()
  } catch {
    response.status(401).json({ title: 'Unauthorized' })
  }
}

const app = express()
app.disable('x-powered-by')
app.use(pinoHttp({ level: process.env.LOG_LEVEL ?? 'info' }))
app.use('/v1', rateLimit({ windowMs: 60_000, limit: Number(process.env.RATE_LIMIT_MAX ?? 100), standardHeaders: 'draft-8', legacyHeaders: false }))
app.use(express.json({ limit: '1mb' }))

app.get('/health/ready', async (_request, response) => {
  await sql`select 1`
  response.json({ status: 'ok' })
})

app.get('/v1/users/:id', authenticate, async (request: Authenticated, response) => {
  if (!validId(request.params.id)) { response.status(400).json({ title: 'Bad request' }); return }
  if (request.principal!.role !== 'admin' && request.principal!.id !== request.params.id) { response.status(403).json({ title: 'Forbidden' }); return }
  const [user] = await sql`select id, email, name, role, created_at, updated_at from users where id = ${request.params.id as string}`
  if (user === undefined) { response.status(404).json({ title: 'Not found' }); return }
  response.json(user)
})

app.get('/v1/users', authenticate, async (request: Authenticated, response) => {
  if (request.principal!.role !== 'admin') { response.status(403).json({ title: 'Forbidden' }); return }
  const limit = Number(request.query.limit ?? 20)
  const after = typeof request.query.cursor === 'string' ? request.query.cursor : undefined
  if (!Number.isInteger(limit) || limit < 1 || limit > 100 || (after !== undefined && !validId(after))) { response.status(400).json({ title: 'Bad request' }); return }
  const rows = after === undefined
    ? await sql`select id, email, name, role, created_at, updated_at from users order by id limit ${limit + 1}`
    : await sql`select id, email, name, role, created_at, updated_at from users where id > ${after} order by id limit ${limit + 1}`
  const data = rows.slice(0, limit)
  response.json({ data, next_cursor: rows.length > limit ? data.at(-1)!.id : null })
})

app.post('/v1/users', async (request, response) => {
  if (!validSignUp(request.body)) { response.status(422).json({ title: 'Validation failed', errors: validSignUp.errors }); return }
  const body = request.body as { email: string, name: string, password: string }
  const passwordHash = await hash(body.password, { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 })
  try {
    const [user] = await sql`insert into users (id, email, name, password_hash) values (${uuidv7()}, ${body.email.toLowerCase()}, ${body.name.trim()}, ${passwordHash})
      returning id, email, name, role, created_at, updated_at`
    response.status(201).location(`/v1/users/${user!.id as string}`).json(user)
  } catch {
    response.status(409).json({ title: 'Email already taken' })
  }
})

const server = app.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1')
process.on('SIGTERM', () => { server.close(); void sql.end() })
