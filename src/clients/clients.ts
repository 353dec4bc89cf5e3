import { and, asc, eq, gt, inArray, isNull, or, sql, type SQL } from 'drizzle-orm'
import { uuidv7 } from 'uuidv7'
import { changeContextOf, type Actor } from '../access/actor.ts'
import { assertAdminPerson } from '../access/rules.ts'
import type { Domain } from '../common/domain.ts'
import { InvalidFieldError, VersionMismatchError } from '../common/errors.ts'
import type { Database } from '../db/connect.ts'
import { isUniqueViolation } from '../db/errors.ts'
import { apiKeys, clients, clientSecrets } from '../db/schema.ts'
import { commitWithEvents, type Change } from '../events/outbox.ts'
import { hashOfToken, newSecretToken } from '../identity/secret-tokens.ts'
import { ClientNameTakenError, ClientNotFoundError } from './errors.ts'
import { assertPublicJwks, type ClientJwks } from './jwks.ts'
import { isScope, type ClientAuthMethod, type ClientStatus, type Scope } from './scopes.ts'

export interface SecretRecord {
  id: string
  created_at: Date
  expires_at: Date | null
  last_used_at: Date | null
}

/** What the API shows of a client, plus the version its ETag derives from. Never a secret. */
export interface ClientRecord {
  id: string
  name: string
  scopes: Scope[]
  auth_method: ClientAuthMethod
  status: ClientStatus
  jwks?: ClientJwks
  secrets: SecretRecord[]
  created_at: Date
  updated_at: Date
  version: number
}

const clientColumns = {
  id: clients.id,
  name: clients.name,
  scopes: clients.scopes,
  auth_method: clients.authMethod,
  status: clients.status,
  jwks: clients.jwks,
  created_at: clients.createdAt,
  updated_at: clients.updatedAt,
  version: clients.version
}

type ClientRow = Omit<ClientRecord, 'secrets' | 'scopes' | 'jwks'> & { scopes: string[], jwks: ClientJwks | null }

export interface NewClient {
  name: string
  scopes: string[]
  auth_method?: ClientAuthMethod | undefined
  jwks?: ClientJwks | undefined
}

export interface ClientChanges {
  name?: string | undefined
  scopes?: string[] | undefined
  status?: ClientStatus | undefined
  jwks?: ClientJwks | undefined
}

/** A secret that still authenticates: no expiry, or one still ahead. */
export function isLiveSecret (): SQL | undefined {
  return or(isNull(clientSecrets.expiresAt), gt(clientSecrets.expiresAt, sql`now()`))
}

/** The scopes, each known, once each, in the order given; `pointer` names the member. */
export function knownScopes (scopes: readonly string[], pointer = '/scopes'): Scope[] {
  for (const [index, scope] of scopes.entries()) {
    if (!isScope(scope)) throw new InvalidFieldError(`${pointer}/${index}`, `is not a known scope: ${scope}`)
  }
  return [...new Set(scopes as Scope[])]
}

async function rejectingDuplicateName<T> (write: Promise<T>): Promise<T> {
  try {
    return await write
  } catch (error) {
    if (isUniqueViolation(error)) throw new ClientNameTakenError()
    throw error
  }
}

async function withSecrets (db: Database, rows: ClientRow[]): Promise<ClientRecord[]> {
  if (rows.length === 0) return []
  const secrets = await db.select({
    clientId: clientSecrets.clientId,
    id: clientSecrets.id,
    created_at: clientSecrets.createdAt,
    expires_at: clientSecrets.expiresAt,
    last_used_at: clientSecrets.lastUsedAt
  }).from(clientSecrets)
    .where(and(inArray(clientSecrets.clientId, rows.map((row) => row.id)), isLiveSecret()))
    .orderBy(asc(clientSecrets.createdAt), asc(clientSecrets.id))
  return rows.map(({ jwks, ...row }) => ({
    ...row,
    ...(jwks === null ? {} : { jwks }),
    scopes: row.scopes as Scope[],
    secrets: secrets.filter((secret) => secret.clientId === row.id).map(({ clientId: _clientId, ...secret }) => secret)
  }))
}

/** What events carry of a client: its representation without the version behind the ETag. */
export function clientEventData ({ version: _version, ...client }: ClientRecord): Record<string, unknown> {
  return client
}

/** The client as it is now, inside a transaction, for the event of a change to it. */
export async function clientAfterChange (tx: Database, id: string): Promise<ClientRecord> {
  const [row] = await tx.select(clientColumns).from(clients).where(eq(clients.id, id))
  if (row === undefined) throw new ClientNotFoundError(id)
  return (await withSecrets(tx, [row]))[0]!
}

/** The client, locked until the transaction ends, if it has one of the expected versions. */
export async function lockClient (tx: Database, id: string, expected?: number[]): Promise<ClientRow> {
  const [row] = await tx.select(clientColumns).from(clients).where(eq(clients.id, id)).for('update')
  if (row === undefined) throw new ClientNotFoundError(id)
  if (expected !== undefined && !expected.includes(row.version)) throw new VersionMismatchError('client')
  return row
}

/** Marks a client changed (its ETag moves) and resolves to its event. */
export async function touchClient (tx: Database, id: string, changed: string[]): Promise<Change> {
  await tx.update(clients).set({ version: sql`${clients.version} + 1`, updatedAt: sql`now()` }).where(eq(clients.id, id))
  return { type: 'client.updated', subject: id, data: { ...clientEventData(await clientAfterChange(tx, id)), changed } }
}

function assertJwksFits (authMethod: ClientAuthMethod, jwks: ClientJwks | undefined | null): void {
  if (authMethod === 'private_key_jwt' && (jwks === undefined || jwks === null)) throw new InvalidFieldError('/jwks', 'is required for private_key_jwt')
  if (authMethod !== 'private_key_jwt' && jwks !== undefined && jwks !== null) throw new InvalidFieldError('/jwks', 'is only for private_key_jwt clients')
}

// As the API's schema says, for callers that do not pass through it (the CLI).
const NAME = /^(?![\s\S]*[\p{Cc}\u202A-\u202E\u2066-\u2069])\S(?:.{0,98}\S)?$/u

function clientName (name: string): string {
  const trimmed = name.trim()
  if (!NAME.test(trimmed)) throw new InvalidFieldError('/name', 'must be 1–100 characters after trimming, without control characters')
  return trimmed
}

/**
 * Registers a client, for admins (and the operator) only. A client of a secret method
 * gets its first secret, returned this once; only its hash is kept.
 */
export async function createClient ({ db }: Domain, actor: Actor, input: NewClient): Promise<{ client: ClientRecord, secret: string | undefined }> {
  assertAdminPerson(actor)
  const name = clientName(input.name)
  const authMethod = input.auth_method ?? 'client_secret_basic'
  const scopes = knownScopes(input.scopes)
  assertJwksFits(authMethod, input.jwks)
  if (input.jwks !== undefined) await assertPublicJwks(input.jwks)
  const secret = authMethod === 'private_key_jwt' ? undefined : newSecretToken()
  const client = await commitWithEvents(db, changeContextOf(actor), async (tx) => {
    const id = uuidv7()
    await rejectingDuplicateName(tx.insert(clients).values({ id, name, scopes, authMethod, jwks: input.jwks ?? null }))
    if (secret !== undefined) await tx.insert(clientSecrets).values({ id: uuidv7(), clientId: id, secretHash: hashOfToken(secret) })
    const created = await clientAfterChange(tx, id)
    return { result: created, changes: [{ type: 'client.created', subject: id, data: clientEventData(created) }] }
  })
  return { client, secret }
}

/** A client, for admins. */
export async function getClient ({ db }: Domain, actor: Actor, id: string): Promise<ClientRecord> {
  assertAdminPerson(actor)
  return clientAfterChange(db, id)
}

export interface ClientPage {
  clients: ClientRecord[]
  hasMore: boolean
}

/** A keyset page of clients, oldest first (ids are time-ordered UUIDv7s), after the client `after`. */
export async function listClients ({ db }: Domain, actor: Actor, query: { limit: number, after?: string | undefined }): Promise<ClientPage> {
  assertAdminPerson(actor)
  const rows = await db.select(clientColumns).from(clients)
    .where(query.after === undefined ? undefined : gt(clients.id, query.after))
    .orderBy(asc(clients.id))
    .limit(query.limit + 1)
  return { clients: await withSecrets(db, rows.slice(0, query.limit)), hasMore: rows.length > query.limit }
}

const TRACKED_MEMBERS = ['name', 'scopes', 'status', 'jwks'] as const

function same (a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
}

/**
 * Changes a client, for admins; conditional on `expected` versions (If-Match) when given.
 * Shrinking its scopes shrinks its API keys' in the same transaction, and disabling it or
 * taking scopes away is news every replica's cache hears of (the NOTIFY of migration 0010).
 */
export async function updateClient ({ db, access }: Domain, actor: Actor, id: string, changes: ClientChanges, expected?: number[]): Promise<ClientRecord> {
  assertAdminPerson(actor)
  const scopes = changes.scopes === undefined ? undefined : knownScopes(changes.scopes)
  const name = changes.name === undefined ? undefined : clientName(changes.name)
  if (changes.jwks !== undefined) await assertPublicJwks(changes.jwks)
  try {
    return await commitWithEvents(db, changeContextOf(actor), async (tx) => {
      const before = await lockClient(tx, id, expected)
      if (changes.jwks !== undefined) assertJwksFits(before.auth_method, changes.jwks)
      const requested = { name, scopes, status: changes.status, jwks: changes.jwks }
      // Asking for what the client already is changes nothing: no new version, no event.
      if (TRACKED_MEMBERS.every((member) => requested[member] === undefined || same(requested[member], before[member]))) {
        return { result: await clientAfterChange(tx, id), changes: [] }
      }
      await rejectingDuplicateName(tx.update(clients).set({
        name,
        scopes,
        status: changes.status,
        jwks: changes.jwks,
        version: sql`${clients.version} + 1`,
        updatedAt: sql`now()`
      }).where(eq(clients.id, id)))
      if (scopes !== undefined) {
        await tx.update(apiKeys)
          .set({ scopes: sql`array(select scope from unnest(${apiKeys.scopes}) as scope where scope = any(array[${sql.join(scopes.map((scope) => sql`${scope}`), sql`, `)}]::text[]))` })
          .where(eq(apiKeys.clientId, id))
      }
      const after = await clientAfterChange(tx, id)
      const changed = TRACKED_MEMBERS.filter((member) => !same(before[member], after[member]))
      return { result: after, changes: changed.length === 0 ? [] : [{ type: 'client.updated', subject: id, data: { ...clientEventData(after), changed } }] }
    })
  } finally {
    access.clientChanged(id)
  }
}

/** Deletes a client, its secrets and its keys, for admins; its tokens stop working at once. */
export async function deleteClient ({ db, access }: Domain, actor: Actor, id: string, expected?: number[]): Promise<void> {
  assertAdminPerson(actor)
  try {
    await commitWithEvents(db, changeContextOf(actor), async (tx) => {
      await lockClient(tx, id, expected)
      const before = await clientAfterChange(tx, id)
      await tx.delete(clients).where(eq(clients.id, id))
      return { result: undefined, changes: [{ type: 'client.deleted', subject: id, data: clientEventData(before) }] }
    })
  } finally {
    access.clientChanged(id)
  }
}
