import { asc, gt } from 'drizzle-orm'
import type { Actor } from '../access/actor.ts'
import { assertPrivileged } from '../access/rules.ts'
import type { CredentialsDomain, Domain } from '../common/domain.ts'
import { users } from '../db/schema.ts'
import { readEvents } from '../events/outbox.ts'
import { listSessions } from '../identity/sessions.ts'
import { listFactors } from '../mfa/factors.ts'
import { getUser, publicColumns, userEventData, type UserRecord } from '../users/users.ts'
import type { CloudEvent } from '../events/outbox.ts'

// Rows per query of an export: memory holds one page, whatever the number of users.
const PAGE = 1_000
// Events of one person: the retained ones, read a page at a time.
const EVENT_PAGE = 500

type ExportedUser = Omit<UserRecord, 'version'>

async function * pages (domain: Domain): AsyncGenerator<ExportedUser> {
  let after: string | undefined
  for (;;) {
    const page = await domain.db.select(publicColumns).from(users).where(after === undefined ? undefined : gt(users.id, after)).orderBy(asc(users.id)).limit(PAGE)
    for (const row of page) yield userEventData(row)
    if (page.length < PAGE) return
    after = page.at(-1)!.id
  }
}

/**
 * Every user as the API shows it, in id order, read by keyset a page at a time (constant
 * memory at any size), for admins and clients holding users:import. Who may is decided
 * before anything is read or sent.
 */
export function exportUsers (domain: Domain, actor: Actor): AsyncGenerator<ExportedUser> {
  assertPrivileged(actor, 'users:import')
  return pages(domain)
}

/**
 * Everything kept about a person (GDPR Art. 15 and 20): the user, their sessions, their
 * factors (no secrets) and the retained events about them. For themself, an admin or a
 * client with users:read; each part under its own operation's rule.
 */
export async function exportPerson (domain: CredentialsDomain, actor: Actor, id: string) {
  const user = await getUser(domain, actor, id)
  const [sessions, factors] = await Promise.all([listSessions(domain, actor, id), listFactors(domain, actor, id)])
  const events: CloudEvent[] = []
  for (let after = 0; ;) {
    const page = await readEvents(domain.db, { after, limit: EVENT_PAGE, subject: id })
    events.push(...page.events.map(({ event }) => event))
    if (page.events.length < EVENT_PAGE) break
    after = page.next
  }
  return { user: userEventData(user), sessions, factors: factors.data, events }
}
