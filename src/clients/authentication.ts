import { timingSafeEqual } from 'node:crypto'
import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm'
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose'
import type { ApiKeyAccess, ClientAccess } from '../access/principal-cache.ts'
import { assertPrivileged } from '../access/rules.ts'
import type { Database } from '../db/connect.ts'
import { preparedPerDatabase } from '../db/per-database.ts'
import { apiKeys, clientAssertions, clients, clientSecrets } from '../db/schema.ts'
import { hashOfToken } from '../identity/secret-tokens.ts'
import { isLiveSecret } from './clients.ts'
import { InvalidClientError, InvalidScopeError } from './errors.ts'
import type { ClientJwks } from './jwks.ts'
import { isScope, type ClientAuthMethod, type Scope } from './scopes.ts'
import { isCanonicalUuid } from '../common/ids.ts'

/** How a client proves itself at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2). */
export type ClientCredentials =
  | { method: 'client_secret_basic' | 'client_secret_post', clientId: string, secret: string }
  | { method: 'private_key_jwt', assertion: string, audiences: string[] }

export interface AuthenticatedClient {
  id: string
  scopes: Scope[]
}

/** The longest an assertion may be valid for, ahead of now (RFC 7523 §3 leaves it to us). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300

/** What a jti may be: room for any UUID or random string a client library makes, and a key the index takes. */
const MAX_JTI_LENGTH = 255

/** Signature algorithms of assertions: Ed25519 under both labels (RFC 9864), and P-256. */
export const ASSERTION_ALGORITHMS = ['EdDSA', 'Ed25519', 'ES256']

// last_used_at says roughly when, not every use: one write a minute per secret at most.
const LAST_USED_RESOLUTION_MS = 60_000
const LAST_USED_RESOLUTION = sql.raw(`interval '${LAST_USED_RESOLUTION_MS / 1000} seconds'`)
// Keys whose last write this replica remembers; past this many it forgets them all (they are written again, at most once each).
const MAX_REMEMBERED_KEY_USES = 10_000

interface ClientRow {
  id: string
  scopes: string[]
  authMethod: ClientAuthMethod
  jwks: ClientJwks | null
}

const activeClientRow = preparedPerDatabase((db) => db.select({ id: clients.id, scopes: clients.scopes, authMethod: clients.authMethod, jwks: clients.jwks }).from(clients)
  .where(and(eq(clients.id, sql.placeholder('clientId')), eq(clients.status, 'active')))
  .prepare('find_active_client'))

// The client and its live secrets in one statement: a request authenticated by a secret
// (every introspection, every client_credentials grant) made three round trips before.
const activeClientWithSecrets = preparedPerDatabase((db) => db.select({
  id: clients.id,
  scopes: clients.scopes,
  authMethod: clients.authMethod,
  jwks: clients.jwks,
  secretId: clientSecrets.id,
  secretHash: clientSecrets.secretHash,
  secretLastUsedAt: clientSecrets.lastUsedAt
}).from(clients)
  .leftJoin(clientSecrets, and(eq(clientSecrets.clientId, clients.id), isLiveSecret()))
  .where(and(eq(clients.id, sql.placeholder('clientId')), eq(clients.status, 'active')))
  .prepare('find_active_client_with_secrets'))

/** Only the client's own method: a secret client cannot switch to a weaker or another way in. */
function assertOwnMethod (found: ClientRow | undefined, method: ClientAuthMethod, triedBasic: boolean): asserts found is ClientRow {
  if (found === undefined || found.authMethod !== method) throw new InvalidClientError(triedBasic)
}

async function activeClient (db: Database, clientId: string, method: ClientAuthMethod, triedBasic: boolean): Promise<ClientRow> {
  // Anything but a canonical UUID names no client (and would not reach the database as one).
  const [found] = isCanonicalUuid(clientId) ? await activeClientRow(db).execute({ clientId }) : []
  assertOwnMethod(found, method, triedBasic)
  return found
}

function sameHash (a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

async function clientBySecret (db: Database, clientId: string, method: ClientAuthMethod, secret: string, triedBasic: boolean, now: Date): Promise<ClientRow> {
  const rows = isCanonicalUuid(clientId) ? await activeClientWithSecrets(db).execute({ clientId }) : []
  assertOwnMethod(rows[0], method, triedBasic)
  const offered = hashOfToken(secret)
  // Every live secret is compared, in constant time, whichever matches.
  const matched = rows.filter((row) => row.secretHash !== null && sameHash(row.secretHash, offered))[0]
  if (matched === undefined) throw new InvalidClientError(triedBasic)
  // Written only when due, and the condition again in the statement, for another replica that wrote meanwhile.
  if (matched.secretLastUsedAt === null || matched.secretLastUsedAt.getTime() < now.getTime() - LAST_USED_RESOLUTION_MS) {
    await db.update(clientSecrets).set({ lastUsedAt: sql`now()` })
      .where(and(eq(clientSecrets.id, matched.secretId!), or(isNull(clientSecrets.lastUsedAt), lt(clientSecrets.lastUsedAt, sql`now() - ${LAST_USED_RESOLUTION}`))))
  }
  return rows[0]
}

/** The client an assertion claims to be from, before anything about it is trusted. */
function claimedIssuer (assertion: string): string {
  try {
    const { iss, sub } = decodeJwt(assertion)
    if (typeof iss === 'string' && iss === sub) return iss
  } catch {}
  throw new InvalidClientError(false, 'The client assertion is not a JWT with iss = sub = the client id.')
}

/**
 * Verifies a client assertion (RFC 7523 §3): signed by a key of the client's jwks, `iss`
 * = `sub` = the client, `aud` one of ours, `exp` at most five minutes ahead, and a `jti`
 * never seen before, on any replica: each is kept in PostgreSQL until the assertion expires.
 */
async function checkAssertion (db: Database, client: ClientRow, assertion: string, audiences: string[], now: Date): Promise<void> {
  // A key's own `alg` would keep it from verifying under Ed25519's other label.
  const keys = createLocalJWKSet({ keys: (client.jwks?.keys ?? []).map(({ alg: _alg, ...key }) => key) })
  let payload
  try {
    ({ payload } = await jwtVerify(assertion, keys, {
      algorithms: ASSERTION_ALGORITHMS,
      issuer: client.id,
      subject: client.id,
      audience: audiences,
      requiredClaims: ['exp', 'jti'],
      currentDate: now
    }))
  } catch {
    throw new InvalidClientError(false, 'The client assertion does not verify: its signature, iss, sub, aud or exp is wrong.')
  }
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > MAX_JTI_LENGTH || payload.jti.includes('\0')) {
    throw new InvalidClientError(false, `The client assertion's jti must be a string of 1–${MAX_JTI_LENGTH} characters.`)
  }
  const nowSeconds = Math.floor(now.getTime() / 1000)
  if (payload.exp! > nowSeconds + MAX_ASSERTION_LIFETIME_SECONDS) {
    throw new InvalidClientError(false, `The client assertion's exp is more than ${MAX_ASSERTION_LIFETIME_SECONDS} seconds ahead.`)
  }
  const recorded = await db.insert(clientAssertions).values({ clientId: client.id, jti: payload.jti, expiresAt: new Date(payload.exp! * 1000) })
    .onConflictDoNothing().returning({ jti: clientAssertions.jti })
  if (recorded.length === 0) throw new InvalidClientError(false, 'This client assertion (its jti) was used before.')
}

/** The active client these credentials prove, by its own method only; else (no credentials too) InvalidClientError. */
export async function authenticateClient (db: Database, credentials: ClientCredentials | undefined, now = new Date()): Promise<AuthenticatedClient> {
  if (credentials === undefined) throw new InvalidClientError(false, 'This needs client authentication: HTTP Basic, client_secret or client_assertion.')
  const triedBasic = credentials.method === 'client_secret_basic'
  if (credentials.method === 'private_key_jwt') {
    const client = await activeClient(db, claimedIssuer(credentials.assertion), 'private_key_jwt', false)
    await checkAssertion(db, client, credentials.assertion, credentials.audiences, now)
    return { id: client.id, scopes: client.scopes.filter(isScope) }
  }
  const client = await clientBySecret(db, credentials.clientId, credentials.method, credentials.secret, triedBasic, now)
  return { id: client.id, scopes: client.scopes.filter(isScope) }
}

/** Introspection (RFC 7662) is for authenticated clients holding tokens:introspect. */
export async function authorizeIntrospection (db: Database, credentials: ClientCredentials | undefined, requestId: string): Promise<void> {
  const client = await authenticateClient(db, credentials)
  assertPrivileged({ kind: 'client', id: client.id, scopes: client.scopes, requestId }, 'tokens:introspect')
}

/** The scopes a token gets: those asked for (space-separated), each the client's; all of its own when none are named. */
export function grantedScopes (client: AuthenticatedClient, requested: string | undefined): Scope[] {
  const names = (requested ?? '').split(' ').filter((name) => name !== '')
  if (names.length === 0) return client.scopes
  const unknown = names.find((name) => !(client.scopes as string[]).includes(name))
  if (unknown !== undefined) throw new InvalidScopeError(`The client may not ask for the scope ${unknown}.`)
  return [...new Set(names as Scope[])]
}

const activeClientAccess = preparedPerDatabase((db) => db.select({ clientId: clients.id, scopes: clients.scopes }).from(clients)
  .where(and(eq(clients.id, sql.placeholder('clientId')), eq(clients.status, 'active')))
  .prepare('find_client_access'))

/** What an active client may do now, or undefined when it is disabled or gone: what every client request asks. */
export async function clientAccess (db: Database, clientId: string): Promise<ClientAccess | undefined> {
  const [found] = await activeClientAccess(db).execute({ clientId })
  return found === undefined ? undefined : { clientId: found.clientId, scopes: found.scopes.filter(isScope) }
}

const apiKeyByHash = preparedPerDatabase((db) => db.select({
  keyId: apiKeys.id,
  clientId: apiKeys.clientId,
  scopes: apiKeys.scopes,
  createdAt: apiKeys.createdAt,
  expiresAt: apiKeys.expiresAt
}).from(apiKeys)
  .where(and(eq(apiKeys.keyHash, sql.placeholder('keyHash')), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, sql`now()`))))
  .prepare('find_api_key'))

/**
 * The API key, when it exists and has not expired. Looked up by the SHA-256 of the key:
 * the index compares hashes, which tell a guesser nothing about the key.
 */
export async function apiKeyAccess (db: Database, key: string): Promise<ApiKeyAccess | undefined> {
  const [found] = await apiKeyByHash(db).execute({ keyHash: hashOfToken(key) })
  return found === undefined ? undefined : { ...found, scopes: found.scopes.filter(isScope) }
}

/**
 * Notes that an API key was used, at most once a minute: the key itself is remembered by
 * the principal cache, so this replica remembers when it last wrote, rather than sending
 * every request an UPDATE that almost never matches; the statement's own condition keeps
 * replicas from writing more than that between them.
 */
export function apiKeyUseRecorder (now: () => number = Date.now): (db: Database, keyId: string) => Promise<void> {
  const written = new Map<string, number>()
  return async (db, keyId) => {
    const at = now()
    if (at - (written.get(keyId) ?? -Infinity) < LAST_USED_RESOLUTION_MS) return
    if (written.size >= MAX_REMEMBERED_KEY_USES) written.clear()
    written.set(keyId, at)
    await db.update(apiKeys).set({ lastUsedAt: sql`now()` })
      .where(and(eq(apiKeys.id, keyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - ${LAST_USED_RESOLUTION}`))))
  }
}

/**
 * Forgets up to `batch` assertion jtis an hour past their exp: a replay of those fails on
 * exp already, even on a replica whose clock is behind the database's.
 */
export async function deleteExpiredAssertions (db: Database, batch: number): Promise<number> {
  const deleted = await db.delete(clientAssertions)
    .where(sql`(${clientAssertions.clientId}, ${clientAssertions.jti}) in (select client_id, jti from client_assertions where expires_at < now() - interval '1 hour' limit ${batch})`)
    .returning({ jti: clientAssertions.jti })
  return deleted.length
}
