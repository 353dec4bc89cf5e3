import { and, desc, eq, gt, isNull, ne, sql } from 'drizzle-orm'
import { uuidv7 } from 'uuidv7'
import { changeContextOf, type Actor, type Assurance, type Principal } from '../access/actor.ts'
import { assertSelfOrPrivileged } from '../access/rules.ts'
import type { Scope } from '../clients/scopes.ts'
import type { Database } from '../db/connect.ts'
import { retryingConflicts } from '../db/errors.ts'
import { rowsOf } from '../db/raw-rows.ts'
import { preparedPerDatabase } from '../db/per-database.ts'
import { refreshTokens, sessions, users } from '../db/schema.ts'
import type { Domain } from '../common/domain.ts'
import { AccountDisabledError, CredentialsChangedError, InvalidRefreshTokenError, SessionNotFoundError, UserNotFoundError } from '../common/errors.ts'
import { commitWithEvents, type Change } from '../events/outbox.ts'
import type { SessionAccess } from '../access/principal-cache.ts'
import { hashOfToken, newSecretToken } from './secret-tokens.ts'

/** Browsers send long User-Agent strings; a session only needs enough to be recognised. */
const USER_AGENT_MAX_LENGTH = 256

/** How a person proved themself (RFC 8176 methods), the assurance that makes, and when. */
export interface SessionAuthentication {
  amr: string[]
  acr: Assurance
  /** When the person authenticated: a refresh does not move it. */
  authTime: Date
}

const PASSWORD: Omit<SessionAuthentication, 'authTime'> = { amr: ['pwd'], acr: 'aal1' }

export interface SessionGrant {
  sessionId: string
  refreshToken: string
  principal: Principal
  authentication: SessionAuthentication
}

export interface SessionRecord {
  id: string
  created_at: Date
  last_used_at: Date
  expires_at: Date
  user_agent: string | null
}

// What an event tells of a session: its representation, and whose it is.
const sessionEventColumns = {
  id: sessions.id,
  user_id: sessions.userId,
  created_at: sessions.createdAt,
  last_used_at: sessions.lastUsedAt,
  expires_at: sessions.expiresAt,
  user_agent: sessions.userAgent
}

type SessionEventData = { id: string, user_id: string } & Record<string, unknown>

function revoked (ended: SessionEventData[]): Change[] {
  return ended.map((session) => ({ type: 'session.revoked', subject: session.user_id, data: session }))
}

/** A session counts while it is neither revoked nor expired, and its user is active. */
function isLive () {
  return and(isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`))
}

/** A login as the domain proved it: who, how, and the password hash it checked, if a password was part of it. */
export interface ProvedLogin {
  principal: Principal
  authentication?: Omit<SessionAuthentication, 'authTime'>
  passwordHash?: string
}

/**
 * Starts a session for a user who just logged in (by default with a password alone), and
 * records the login. Returns the session's first refresh token (its only time in clear).
 * Credentials checked are credentials used: the session is written under the user's row
 * lock, only while the user is active and still has the password hash the login checked.
 * A change, reset, disable or delete that commits first wins (this login is refused); one
 * that commits after sees this session and ends it. The user's row is the first lock of
 * the transaction, as on every path that ends sessions, so none of them deadlock.
 */
export async function startSession ({ db }: Domain, actor: Actor, login: ProvedLogin, options: { ttlSeconds: number, userAgent: string | undefined }): Promise<SessionGrant> {
  const { principal: user } = login
  const sessionId = uuidv7()
  const refreshToken = newSecretToken()
  const { amr, acr } = login.authentication ?? PASSWORD
  const authTime = await commitWithEvents(db, changeContextOf(actor), async (tx) => {
    const [current] = await tx.select({ status: users.status, passwordHash: users.passwordHash }).from(users).where(eq(users.id, user.id)).for('no key update')
    if (current === undefined || (login.passwordHash !== undefined && current.passwordHash !== login.passwordHash)) throw new CredentialsChangedError()
    if (current.status !== 'active') throw new AccountDisabledError()
    const [started] = await tx.insert(sessions).values({
      id: sessionId,
      userId: user.id,
      expiresAt: sql`now() + make_interval(secs => ${options.ttlSeconds})`,
      userAgent: options.userAgent?.slice(0, USER_AGENT_MAX_LENGTH),
      amr,
      acr
    }).returning({ ...sessionEventColumns, authTime: sessions.authTime })
    await tx.insert(refreshTokens).values({ tokenHash: hashOfToken(refreshToken), sessionId })
    await tx.update(users).set({ lastLoginAt: sql`now()` }).where(eq(users.id, user.id))
    const { authTime, ...session } = started!
    return { result: authTime, changes: [{ type: 'session.created', subject: user.id, data: session }] }
  })
  return { sessionId, refreshToken, principal: user, authentication: { amr, acr, authTime } }
}

/**
 * Ends a session now; its refresh and access tokens stop working. Whoever holds one of
 * its tokens may (RFC 7009), so the token is the proof and the actor only who is recorded.
 */
export async function revokeSession ({ db, access }: Domain, actor: Actor, sessionId: string): Promise<void> {
  await commitWithEvents(db, changeContextOf(actor), async (tx) => {
    const ended = await tx.update(sessions).set({ revokedAt: sql`now()` })
      .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
      .returning(sessionEventColumns)
    return { result: undefined, changes: revoked(ended) }
  })
  access.sessionEnded(sessionId)
}

interface RotationRow {
  session_id: string
  user_id: string
  role: Principal['role']
  amr: string[]
  acr: string
  auth_time: string | Date
  claimed: boolean
  live: boolean
}

/**
 * One statement, so one round trip (BEGIN, five statements and COMMIT made seven). It
 * locks the user's row first, as every path that ends or starts sessions does: a refresh
 * racing a deletion or a password change waits for it, or it for the refresh, rather
 * than deadlock on the session and token rows the deletion cascades to (each step below
 * reads the one before it, so runs after it). It claims the token only while it is
 * unused: of two refreshes with one token, one claims it. Then it touches the session,
 * only while live, and stores the next token only if it did: an UPDATE re-reads the
 * newest version of the row it waited for, so a revocation that committed meanwhile (a
 * password change, a logout) is seen, where the statement's snapshot would not see it.
 * A claim of a dead session's token is kept, as it was.
 */
function rotationStatement (tokenHash: string, nextHash: string) {
  return sql`with owner as (
    select ${sessions.id} as session_id, ${users.id} as user_id, ${users.role} as role, ${sessions.amr} as amr, ${sessions.acr} as acr,
      ${sessions.authTime} as auth_time, ${users.status} = 'active' as active
    from ${refreshTokens} join ${sessions} on ${sessions.id} = ${refreshTokens.sessionId} join ${users} on ${users.id} = ${sessions.userId}
    where ${refreshTokens.tokenHash} = ${tokenHash}
    for share of ${users}
  ), claimed as (
    update ${refreshTokens} set used_at = now()
    where token_hash = ${tokenHash} and used_at is null and exists (select 1 from owner)
    returning session_id
  ), touched as (
    update ${sessions} set last_used_at = now()
    where id in (select session_id from claimed) and revoked_at is null and expires_at > now() and exists (select 1 from owner where owner.active)
    returning id
  ), rotated as (
    insert into ${refreshTokens} (token_hash, session_id)
    select ${nextHash}, id from touched
  )
  select owner.session_id, owner.user_id, owner.role, owner.amr, owner.acr, owner.auth_time,
    exists (select 1 from claimed) as claimed, exists (select 1 from touched) as live
  from owner`
}

/**
 * Exchanges a refresh token for a new one (rotation). A token that was already used
 * is taken as stolen (RFC 9700 §4.14): its whole session ends, the newest token too.
 * Of concurrent exchanges of one token exactly one wins; the others count as reuse.
 */
export async function rotateRefreshToken (domain: Domain, actor: Actor, refreshToken: string): Promise<SessionGrant> {
  const { db } = domain
  const tokenHash = hashOfToken(refreshToken)
  const next = newSecretToken()
  const [row] = rowsOf<RotationRow>(await retryingConflicts(() => db.execute(rotationStatement(tokenHash, hashOfToken(next)))))
  if (row === undefined) throw new InvalidRefreshTokenError()
  if (!row.claimed) {
    await revokeSession(domain, actor, row.session_id)
    throw new InvalidRefreshTokenError()
  }
  if (!row.live) throw new InvalidRefreshTokenError()
  return {
    sessionId: row.session_id,
    refreshToken: next,
    principal: { id: row.user_id, role: row.role },
    authentication: { amr: row.amr, acr: row.acr === 'aal2' ? 'aal2' : 'aal1', authTime: new Date(row.auth_time) }
  }
}

/** Logout (RFC 7009): ends the session of a refresh token; an unknown token changes nothing. */
export async function revokeByRefreshToken (domain: Domain, actor: Actor, refreshToken: string): Promise<void> {
  const [known] = await domain.db.select({ sessionId: refreshTokens.sessionId }).from(refreshTokens).where(eq(refreshTokens.tokenHash, hashOfToken(refreshToken)))
  if (known !== undefined) await revokeSession(domain, actor, known.sessionId)
}

/** Who may see or end a user's sessions: the user themself, an admin or a client with `scope`, and only of a user who exists. */
async function assertMayManageSessions (db: Database, actor: Actor, userId: string, scope: Scope): Promise<void> {
  assertSelfOrPrivileged(actor, userId, scope)
  const [found] = await db.select({ id: users.id }).from(users).where(eq(users.id, userId))
  if (found === undefined) throw new UserNotFoundError(userId)
}

/** The user's live sessions, newest first; `current` marks the actor's own. */
export async function listSessions ({ db }: Domain, actor: Actor, userId: string): Promise<Array<SessionRecord & { current: boolean }>> {
  await assertMayManageSessions(db, actor, userId, 'users:read')
  const found = await db.select({
    id: sessions.id,
    created_at: sessions.createdAt,
    last_used_at: sessions.lastUsedAt,
    expires_at: sessions.expiresAt,
    user_agent: sessions.userAgent
  }).from(sessions)
    .where(and(eq(sessions.userId, userId), isLive()))
    .orderBy(desc(sessions.createdAt), desc(sessions.id))
  const own = actor.kind === 'user' ? actor.sessionId : undefined
  return found.map((session) => ({ ...session, current: session.id === own }))
}

/**
 * Ends every live session of a user, except `keep` (the caller's own, after a password
 * change), inside the caller's transaction; resolves to the events to record for them.
 */
export async function endUserSessions (tx: Database, userId: string, keep?: string): Promise<Change[]> {
  const ended = await tx.update(sessions).set({ revokedAt: sql`now()` })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), keep === undefined ? undefined : ne(sessions.id, keep)))
    .returning(sessionEventColumns)
  return revoked(ended)
}

/** Ends every live session of a user, for the user themself or an admin. */
export async function revokeUserSessions ({ db, access }: Domain, actor: Actor, userId: string): Promise<void> {
  await assertMayManageSessions(db, actor, userId, 'users:write')
  await commitWithEvents(db, changeContextOf(actor), async (tx) => ({ result: undefined, changes: await endUserSessions(tx, userId) }))
  access.userChanged(userId)
}

/** Ends one live session of a user, for the user themself or an admin. */
export async function revokeUserSession ({ db, access }: Domain, actor: Actor, userId: string, sessionId: string): Promise<void> {
  assertSelfOrPrivileged(actor, userId, 'users:write')
  await commitWithEvents(db, changeContextOf(actor), async (tx) => {
    const ended = await tx.update(sessions).set({ revokedAt: sql`now()` })
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isLive()))
      .returning(sessionEventColumns)
    if (ended.length === 0) throw new SessionNotFoundError(sessionId)
    return { result: undefined, changes: revoked(ended) }
  })
  access.sessionEnded(sessionId)
}

const liveSessionAccess = preparedPerDatabase((db) => db.select({ userId: users.id, role: users.role }).from(sessions)
  .innerJoin(users, eq(users.id, sessions.userId))
  .where(and(eq(sessions.id, sql.placeholder('sessionId')), isLive(), eq(users.status, 'active')))
  .prepare('find_session_access'))

/** The user and role behind a live session of an active user, or undefined: what every authenticated request asks. */
export async function sessionAccess (db: Database, sessionId: string): Promise<SessionAccess | undefined> {
  const [found] = await liveSessionAccess(db).execute({ sessionId })
  return found
}
