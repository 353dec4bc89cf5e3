/**
 * The peer: the same endpoints as a competent team ships them in Express 5 with its usual
 * middleware (pino-http, express-rate-limit, jose, ajv) over the same patched
 * postgres.js and pool size, and the same security headers (a JSON API's short set, as
 * users-service sends on its JSON answers). Same semantics where they cost something: EdDSA tokens
 * checked against the JWKS for typ/iss/aud/exp, the token's session checked live and the
 * caller's current role read from it, bodies validated. Same caching design as
 * users-service where it has one: a token's verdict is remembered until it expires, and
 * what a session grants for 30 s (without the change notifications that let
 * users-service forget sooner: that saves the peer work, it does not cost it). The log is
 * written asynchronously with the fields users-service logs, Express's own ETag (a hash
 * of every body) is off (users-service does not hash bodies either), and the rate limit
 * headers are draft 7's (draft 8's hash the client's key on every response).
 */
import { hash } from '@node-rs/argon2'
import { Ajv } from 'ajv'
import formats from 'ajv-formats'
import express, { type NextFunction, type Request, type Response } from 'express'
import { rateLimit } from 'express-rate-limit'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { LRUCache } from 'lru-cache'
import { destination } from 'pino'
import { pinoHttp } from 'pino-http'
import postgres from 'postgres'
import { uuidv7 } from 'uuidv7'
import { API_SECURITY_HEADERS } from '../../plugins/app/security-headers.ts'

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
interface Claims { sub: string, sid: string, exp: number }

const verdicts = new LRUCache<string, Claims>({ max: 10_000 })
const sessions = new LRUCache<string, { userId: string, role: string }>({ max: 10_000, ttl: 30_000 })

async function verified (token: string): Promise<Claims> {
  const remembered = verdicts.get(token)
  if (remembered !== undefined && remembered.exp * 1000 > Date.now()) return remembered
  const { payload } = await jwtVerify(token, publicKeys, { algorithms: ['EdDSA', 'ES256'], issuer: 'users-service', audience: 'users-service', typ: 'at+jwt' })
  const claims = payload as unknown as Claims
  verdicts.set(token, claims, { ttl: claims.exp * 1000 - Date.now() })
  return claims
}

async function sessionAccess (sessionId: string): Promise<{ userId: string, role: string } | undefined> {
  const remembered = sessions.get(sessionId)
  if (remembered !== undefined) return remembered
  const [access] = await sql<Array<{ userId: string, role: string }>>`select u.id as "userId", u.role from sessions s join users u on u.id = s.user_id
    where s.id = ${sessionId} and s.revoked_at is null and s.expires_at > now() and u.status = 'active'`
  if (access !== undefined) sessions.set(sessionId, access)
  return access
}

async function authenticate (request: Authenticated, response: Response, next: NextFunction): Promise<void> {
  const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
  try {
    const claims = await verified(token ?? '')
    const access = await sessionAccess(claims.sid)
    if (access === undefined || access.userId !== claims.sub) throw new Error('session ended')
    request.principal = { id: claims.sub, role: access.role }
    next()
  } catch {
    response.status(401).json({ title: 'Unauthorized' })
  }
}

const app = express()
app.disable('x-powered-by')
app.set('etag', false)
app.use((_request, response, next) => { response.set(API_SECURITY_HEADERS); next() })
// One line per request with what users-service logs (not every header of the request and response).
app.use(pinoHttp({
  level: process.env.LOG_LEVEL ?? 'info',
  serializers: {
    req: (request: { method: string, url: string, remoteAddress: string, headers: Record<string, string> }) => ({ method: request.method, url: request.url, remote_address: request.remoteAddress, user_agent: request.headers['user-agent'] }),
    res: (response: { statusCode: number }) => ({ status: response.statusCode })
  }
}, destination({ dest: 1, sync: false })))
app.use('/v1', rateLimit({ windowMs: 60_000, limit: Number(process.env.RATE_LIMIT_MAX ?? 100), standardHeaders: 'draft-7', legacyHeaders: false }))
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

app.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1')
// Nothing to drain or flush in a benchmark peer: stop at once.
process.on('SIGTERM', () => process.exit(0))
