/**
 * The rules of who may do what, proved on the domain itself, without HTTP: whatever
 * calls an operation (a route, the CLI, later SCIM and import) meets the same refusal,
 * and the operation, not its caller, tells the principal cache what changed.
 */
import t from 'tap'
import { SYSTEM, userActor, type Actor } from '../../src/access/actor.ts'
import { connectDatabase } from '../../src/db/connect.ts'
import { readFeed } from '../../src/events/feed.ts'
import { listSessions, revokeSession, revokeUserSession, revokeUserSessions, startSession } from '../../src/identity/sessions.ts'
import { InsufficientScopeError, NotAllowedError } from '../../src/common/errors.ts'
import { createClient } from '../../src/clients/clients.ts'
import { SCOPES, type Scope } from '../../src/clients/scopes.ts'
import type { AccessChanges, Domain } from '../../src/common/domain.ts'
import { listUsers } from '../../src/users/listing.ts'
import { createUser, deleteUser, ensureAdmin, getCurrentUser, getUser, updateUser, type UserRecord } from '../../src/users/users.ts'
import { passwordHasher } from '../../src/identity/passwords.ts'
import { newUser } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

/** An AccessChanges port that writes down what it was told. */
function recordingPort (): AccessChanges & { users: string[], sessions: string[], clients: string[] } {
  const told = { users: [] as string[], sessions: [] as string[], clients: [] as string[] }
  return { ...told, userChanged: (id) => told.users.push(id), sessionEnded: (id) => told.sessions.push(id), clientChanged: (id) => told.clients.push(id) }
}

forEachDatabase(t, async (t, database) => {
  const connection = await connectDatabase(await database.create(t))
  t.teardown(() => connection.close())
  await connection.migrate()
  const access = recordingPort()
  const domain: Domain = { db: connection.db, access, passwords: passwordHasher({ memoryKib: 1024, iterations: 1 }), loginThrottle: { maxFailures: 5, now: Date.now } }
  const anonymous: Actor = { kind: 'anonymous', requestId: undefined }

  const signUp = async (): Promise<UserRecord> => createUser(domain, anonymous, newUser() as never)
  const password = 'correct horse battery'
  const ada = await createUser(domain, anonymous, { email: 'ada@example.com', name: 'Ada', password })
  const grace = await signUp()
  const adaSession = (await startSession(domain, anonymous, { principal: ada }, { ttlSeconds: 3600, userAgent: 'test' })).sessionId
  const asAda = userActor(ada, adaSession)
  const admin = await createUser(domain, SYSTEM, { ...newUser(), role: 'admin' } as never)
  const asAdmin = userActor(admin)

  t.test('only an admin (or the system) gives a role at sign-up', async (t) => {
    await t.rejects(createUser(domain, anonymous, { ...newUser(), role: 'admin' } as never), NotAllowedError)
    await t.rejects(createUser(domain, asAda, { ...newUser(), role: 'admin' } as never), NotAllowedError)
    t.equal((await createUser(domain, asAdmin, { ...newUser(), role: 'admin' } as never)).role, 'admin')
    t.equal((await createUser(domain, anonymous, { ...newUser(), role: 'user' } as never)).role, 'user', 'asking for the default role is no privilege')
  })

  t.test('a person reads and changes only themself; an admin anyone', async (t) => {
    await t.rejects(getUser(domain, asAda, grace.id), NotAllowedError)
    await t.rejects(getUser(domain, anonymous, ada.id), NotAllowedError)
    t.equal((await getUser(domain, asAda, ada.id)).id, ada.id)
    t.equal((await getUser(domain, asAdmin, grace.id)).id, grace.id)
    t.equal((await getCurrentUser(domain, asAda)).id, ada.id)
    await t.rejects(getCurrentUser(domain, SYSTEM), NotAllowedError, 'the system has no user of its own')
    await t.rejects(updateUser(domain, asAda, grace.id, { name: 'Not Grace' }), NotAllowedError)
    await t.rejects(deleteUser(domain, asAda, grace.id), NotAllowedError)
    t.equal((await getUser(domain, asAdmin, grace.id)).name, grace.name, 'nothing was written')
  })

  t.test('only an admin sets a role or a status', async (t) => {
    await t.rejects(updateUser(domain, asAda, ada.id, { role: 'admin' }), NotAllowedError)
    await t.rejects(updateUser(domain, asAda, ada.id, { status: 'disabled' }), NotAllowedError)
    t.equal((await updateUser(domain, asAda, ada.id, { role: 'user', status: 'active' })).role, 'user', 'asking for the current values changes nothing, so anyone may')
    const promoted = await updateUser(domain, asAdmin, grace.id, { role: 'admin' })
    t.equal(promoted.role, 'admin')
    t.equal((await updateUser(domain, SYSTEM, grace.id, { role: 'user' })).role, 'user', 'the system may too')
  })

  t.test('changing one\'s own password needs the current one, and keeps only the acting session', async (t) => {
    await t.rejects(updateUser(domain, asAda, ada.id, { password: 'a brand new password' }), NotAllowedError)
    await t.rejects(updateUser(domain, asAda, ada.id, { password: 'a brand new password', current_password: 'wrong guess here' }), NotAllowedError)
    const other = (await startSession(domain, anonymous, { principal: ada }, { ttlSeconds: 3600, userAgent: 'other' })).sessionId
    await updateUser(domain, asAda, ada.id, { password: 'a brand new password', current_password: password })
    const live = (await listSessions(domain, asAda, ada.id)).map((session) => session.id)
    t.ok(live.includes(adaSession), 'the acting session stays')
    t.notOk(live.includes(other), 'every other session ended')
    await updateUser(domain, asAdmin, ada.id, { password })
    t.pass('an admin setting another\'s password needs no current one')
  })

  t.test('every change to who may do what is told to the principal cache by the operation itself', async (t) => {
    access.users.length = 0
    access.sessions.length = 0
    await updateUser(domain, asAdmin, grace.id, { name: 'Grace H.' })
    await t.rejects(updateUser(domain, asAdmin, grace.id, { name: 'Stale' }, [9999]))
    t.same(access.users, [grace.id, grace.id], 'after a write, and after a refused one (what was remembered may predate a concurrent change)')
    await revokeUserSessions(domain, asAdmin, grace.id)
    t.equal(access.users.at(-1), grace.id, 'ending a user\'s sessions')
    const session = (await startSession(domain, anonymous, { principal: grace }, { ttlSeconds: 3600, userAgent: 'test' })).sessionId
    await revokeUserSession(domain, asAdmin, grace.id, session)
    t.same(access.sessions, [session], 'ending one session')
    const another = (await startSession(domain, anonymous, { principal: grace }, { ttlSeconds: 3600, userAgent: 'test' })).sessionId
    await revokeSession(domain, anonymous, another)
    t.same(access.sessions, [session, another], 'a logout')
    const joiner = await signUp()
    await ensureAdmin(domain, joiner.email, 'not used: the user exists')
    t.equal(access.users.at(-1), joiner.id, 'a promotion at start-up')
    await deleteUser(domain, asAdmin, joiner.id)
    t.equal(access.users.at(-1), joiner.id, 'a deletion')
  })

  t.test('sessions, the listing and the feed follow the same rules', async (t) => {
    await t.rejects(listSessions(domain, asAda, grace.id), NotAllowedError)
    await t.rejects(revokeUserSessions(domain, asAda, grace.id), NotAllowedError)
    await t.rejects(revokeUserSession(domain, asAda, grace.id, adaSession), NotAllowedError)
    await t.rejects(listUsers(domain, asAda, { sort: 'created_at', limit: 10 }), NotAllowedError)
    await t.rejects(readFeed(domain, asAda, { after: undefined, limit: 10 }), NotAllowedError)
    t.ok((await listUsers(domain, SYSTEM, { sort: 'created_at', limit: 10 })).users.length > 0)
    t.ok((await readFeed(domain, asAdmin, { after: undefined, limit: 10 })).events.length > 0)
  })

  t.test('a machine client may do what its scopes name, and nothing a person alone may', async (t) => {
    const client = (scopes: Scope[]): Actor => ({ kind: 'client', id: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8d', scopes, requestId: undefined })
    const reader = client(['users:read'])
    const writer = client(['users:write'])
    t.equal((await getUser(domain, reader, grace.id)).id, grace.id, 'users:read reads anyone')
    t.ok((await listUsers(domain, reader, { sort: 'created_at', limit: 10 })).users.length > 0)
    t.ok(await listSessions(domain, reader, ada.id))
    await t.rejects(updateUser(domain, reader, grace.id, { name: 'Not Grace' }), InsufficientScopeError, 'reading is not writing')
    await t.rejects(createUser(domain, reader, newUser() as never), InsufficientScopeError, 'nor signing someone up')
    await t.rejects(readFeed(domain, reader, { after: undefined, limit: 10 }), InsufficientScopeError)
    await t.rejects(getUser(domain, writer, grace.id), InsufficientScopeError, 'writing is not reading')
    t.equal((await createUser(domain, writer, { ...newUser(), role: 'admin' } as never)).role, 'admin', 'users:write gives roles')
    t.equal((await updateUser(domain, writer, grace.id, { password: 'a brand new password' })).id, grace.id, 'and sets a password without the current one')
    await t.rejects(getCurrentUser(domain, reader), NotAllowedError, 'a client has no user of its own')
    await t.rejects(createClient(domain, client([...SCOPES]), { name: 'child', scopes: [] }), NotAllowedError, 'no client manages clients')
    await t.rejects(createClient(domain, asAda, { name: 'mine', scopes: [] }), NotAllowedError, 'nor does a person who is no admin')
    t.equal((await createClient(domain, SYSTEM, { name: 'by the operator', scopes: ['users:read'] })).client.name, 'by the operator')
  })
})
