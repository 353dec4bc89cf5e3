import { and, asc, eq, sql } from 'drizzle-orm'
import { uuidv7 } from 'uuidv7'
import { changeContextOf, type Actor } from '../access/actor.ts'
import { assertAdminPerson } from '../access/rules.ts'
import type { Domain } from '../common/domain.ts'
import { InvalidFieldError } from '../common/errors.ts'
import { apiKeys, clients, clientSecrets } from '../db/schema.ts'
import { commitWithEvents } from '../events/outbox.ts'
import { hashOfToken, newSecretToken } from '../identity/secret-tokens.ts'
import { isLiveSecret, knownScopes, lockClient, touchClient } from './clients.ts'
import { ClientNotFoundError, ClientWithoutSecretsError, CredentialNotFoundError } from './errors.ts'
import type { Scope } from './scopes.ts'

/** How long the secrets a rotation replaces keep working, unless the admin says otherwise: a day to roll the new one out. */
export const DEFAULT_PREVIOUS_SECRET_SECONDS = 86_400

/** API keys say what they are, so a leaked one is recognised by secret scanners. */
export const API_KEY_PREFIX = 'usk_'

/** How much of a key the API shows, to tell keys apart: `usk_` and 8 characters (48 of its 256 bits). */
const SHOWN_PREFIX_LENGTH = 12

export interface NewSecret {
  id: string
  client_secret: string
  created_at: Date
}

/**
 * A new secret for a client, returned this once. Every older live secret now expires
 * after `previousExpiresIn` seconds (0: at once), so a fleet can roll the new one out
 * while the old still works.
 */
export async function rotateClientSecret ({ db }: Domain, actor: Actor, clientId: string, previousExpiresIn = DEFAULT_PREVIOUS_SECRET_SECONDS): Promise<NewSecret> {
  assertAdminPerson(actor)
  const secret = newSecretToken()
  return commitWithEvents(db, changeContextOf(actor), async (tx) => {
    const client = await lockClient(tx, clientId)
    if (client.auth_method === 'private_key_jwt') throw new ClientWithoutSecretsError()
    const expiry = sql`now() + make_interval(secs => ${previousExpiresIn})`
    await tx.update(clientSecrets)
      .set({ expiresAt: sql`least(coalesce(${clientSecrets.expiresAt}, 'infinity'), ${expiry})` })
      .where(and(eq(clientSecrets.clientId, clientId), isLiveSecret()))
    const [created] = await tx.insert(clientSecrets).values({ id: uuidv7(), clientId, secretHash: hashOfToken(secret) })
      .returning({ id: clientSecrets.id, created_at: clientSecrets.createdAt })
    return { result: { id: created!.id, client_secret: secret, created_at: created!.created_at }, changes: [await touchClient(tx, clientId, ['secrets'])] }
  })
}

/** Deletes one of a client's secrets: it stops working at once. */
export async function deleteClientSecret ({ db }: Domain, actor: Actor, clientId: string, secretId: string): Promise<void> {
  assertAdminPerson(actor)
  await commitWithEvents(db, changeContextOf(actor), async (tx) => {
    await lockClient(tx, clientId)
    const deleted = await tx.delete(clientSecrets)
      .where(and(eq(clientSecrets.id, secretId), eq(clientSecrets.clientId, clientId), isLiveSecret()))
      .returning({ id: clientSecrets.id })
    if (deleted.length === 0) throw new CredentialNotFoundError(`The client has no live secret with id ${secretId}.`)
    return { result: undefined, changes: [await touchClient(tx, clientId, ['secrets'])] }
  })
}

export interface ApiKeyRecord {
  id: string
  name: string
  prefix: string
  scopes: Scope[]
  created_at: Date
  expires_at: Date | null
  last_used_at: Date | null
}

const apiKeyColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  scopes: apiKeys.scopes,
  created_at: apiKeys.createdAt,
  expires_at: apiKeys.expiresAt,
  last_used_at: apiKeys.lastUsedAt
}

export interface NewApiKey {
  name: string
  /** Defaults to all of the client's scopes. */
  scopes?: string[] | undefined
  expires_at?: Date | undefined
}

function assertWithin (scopes: Scope[], ceiling: readonly string[]): void {
  for (const [index, scope] of scopes.entries()) {
    if (!ceiling.includes(scope)) throw new InvalidFieldError(`/scopes/${index}`, `is not a scope of this client: ${scope}`)
  }
}

// PostgreSQL's timestamps end with the year 294276, JavaScript's writing of them with 9999.
const LATEST_EXPIRY = Date.parse('9999-12-31T23:59:59.999Z')

function assertExpiry (expiresAt: Date, now: Date): void {
  const time = expiresAt.getTime()
  if (Number.isNaN(time) || time > LATEST_EXPIRY) throw new InvalidFieldError('/expires_at', 'must be a date-time before the year 10000')
  if (time <= now.getTime()) throw new InvalidFieldError('/expires_at', 'must be in the future')
}

/** A new API key of a client, returned this once (`key`); its scopes never exceed the client's. */
export async function createApiKey ({ db }: Domain, actor: Actor, clientId: string, input: NewApiKey, now = new Date()): Promise<ApiKeyRecord & { key: string }> {
  assertAdminPerson(actor)
  const requested = input.scopes === undefined ? undefined : knownScopes(input.scopes)
  if (input.expires_at !== undefined) assertExpiry(input.expires_at, now)
  const key = API_KEY_PREFIX + newSecretToken()
  return commitWithEvents(db, changeContextOf(actor), async (tx) => {
    const client = await lockClient(tx, clientId)
    if (requested !== undefined) assertWithin(requested, client.scopes)
    const [created] = await tx.insert(apiKeys).values({
      id: uuidv7(),
      clientId,
      name: input.name.trim(),
      prefix: key.slice(0, SHOWN_PREFIX_LENGTH),
      keyHash: hashOfToken(key),
      scopes: requested ?? client.scopes,
      expiresAt: input.expires_at ?? null
    }).returning(apiKeyColumns)
    return { result: { ...created!, scopes: created!.scopes as Scope[], key }, changes: [await touchClient(tx, clientId, ['api_keys'])] }
  })
}

/** A client's API keys, oldest first, the expired ones too: an admin sees what to clean up. */
export async function listApiKeys ({ db }: Domain, actor: Actor, clientId: string): Promise<ApiKeyRecord[]> {
  assertAdminPerson(actor)
  const [client] = await db.select({ id: clients.id }).from(clients).where(eq(clients.id, clientId))
  if (client === undefined) throw new ClientNotFoundError(clientId)
  const found = await db.select(apiKeyColumns).from(apiKeys).where(eq(apiKeys.clientId, clientId)).orderBy(asc(apiKeys.id))
  return found.map((key) => ({ ...key, scopes: key.scopes as Scope[] }))
}

/** Deletes an API key: refused at once, on every replica (the NOTIFY of migration 0010). */
export async function deleteApiKey ({ db, access }: Domain, actor: Actor, clientId: string, keyId: string): Promise<void> {
  assertAdminPerson(actor)
  try {
    await commitWithEvents(db, changeContextOf(actor), async (tx) => {
      await lockClient(tx, clientId)
      const deleted = await tx.delete(apiKeys).where(and(eq(apiKeys.id, keyId), eq(apiKeys.clientId, clientId))).returning({ id: apiKeys.id })
      if (deleted.length === 0) throw new CredentialNotFoundError(`The client has no API key with id ${keyId}.`)
      return { result: undefined, changes: [await touchClient(tx, clientId, ['api_keys'])] }
    })
  } finally {
    access.clientChanged(clientId)
  }
}
