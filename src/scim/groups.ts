import { asc, count, eq, inArray } from 'drizzle-orm'
import type { Actor } from '../access/actor.ts'
import { assertProvisioner } from '../access/rules.ts'
import type { Domain } from '../common/domain.ts'
import { isCanonicalUuid } from '../common/ids.ts'
import type { Database } from '../db/connect.ts'
import { users } from '../db/schema.ts'
import type { Role } from '../users/roles.ts'
import { setRoles } from '../users/users.ts'
import { FixedGroupsError, GroupNotFoundError, ScimRequestError } from './errors.ts'
import { groupFilter } from './filter.ts'
import { operationsOf } from './patch.ts'

export interface Group { id: string, displayName: Role }

/** The two groups are the two roles, each with an id that never changes. */
export const GROUPS: readonly Group[] = [
  { id: 'a5c1d1a0-0000-4000-8000-000000000001', displayName: 'admin' },
  { id: 'a5c1d1a0-0000-4000-8000-000000000002', displayName: 'user' }
]

export function groupOfRole (role: Role): Group {
  return GROUPS.find((group) => group.displayName === role)!
}

/**
 * Members are listed only up to this many: past it a request for them is `tooMany`, and
 * providers ask with excludedAttributes=members (Entra ID does), or list the Users.
 */
export const MAX_LISTED_MEMBERS = 10_000

export interface GroupWithMembers extends Group {
  /** Undefined when not asked for. */
  members: Array<{ id: string, email: string }> | undefined
}

async function membersOf (db: Database, group: Group): Promise<Array<{ id: string, email: string }>> {
  const [counted] = await db.select({ total: count() }).from(users).where(eq(users.role, group.displayName))
  if ((counted?.total ?? 0) > MAX_LISTED_MEMBERS) {
    throw new ScimRequestError('tooMany', `The group ${group.displayName} has more than ${MAX_LISTED_MEMBERS} members: ask with excludedAttributes=members and list the Users instead.`)
  }
  return db.select({ id: users.id, email: users.email }).from(users).where(eq(users.role, group.displayName)).orderBy(asc(users.id))
}

function groupById (id: string): Group {
  const found = GROUPS.find((group) => group.id === id.toLowerCase())
  if (found === undefined) throw new GroupNotFoundError(id)
  return found
}

export async function listScimGroups ({ db }: Domain, actor: Actor, filter: string | undefined, withMembers: boolean): Promise<GroupWithMembers[]> {
  assertProvisioner(actor)
  const matches = filter === undefined ? () => true : groupFilter(filter)
  const found = GROUPS.filter(matches)
  return Promise.all(found.map(async (group) => ({ ...group, members: withMembers ? await membersOf(db, group) : undefined })))
}

export async function getScimGroup ({ db }: Domain, actor: Actor, id: string, withMembers: boolean): Promise<GroupWithMembers> {
  assertProvisioner(actor)
  const group = groupById(id)
  return { ...group, members: withMembers ? await membersOf(db, group) : undefined }
}

/** Creating, replacing or deleting a group: the groups are the roles, and stay as they are. */
export function refuseGroupChange (actor: Actor): never {
  assertProvisioner(actor)
  throw new FixedGroupsError()
}

/** The user ids of a members value: `[{value: id}, …]`. */
function memberIds (value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value]
  return list.map((member: unknown) => {
    const id = typeof member === 'object' && member !== null ? (member as { value?: unknown }).value : undefined
    if (typeof id !== 'string') throw new ScimRequestError('invalidValue', 'members is a list of {value: <user id>}.')
    return id.toLowerCase()
  })
}

const MEMBER_FILTER = /^members\[\s*value\s+eq\s+"([^"]*)"\s*\]$/i

/** Who a group's operations make members (`true`) and non-members (`false`); `all`: every current member leaves first. */
interface MemberChanges { all: boolean, members: Map<string, boolean> }

function memberChangesOf (body: unknown): MemberChanges {
  const result: MemberChanges = { all: false, members: new Map() }
  for (const { op, path, value } of operationsOf(body)) {
    const filtered = path === undefined ? null : MEMBER_FILTER.exec(path)
    if (path === undefined && op !== 'remove' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      // Path-less: an object of attributes, of which only members may change.
      for (const [member, members] of Object.entries(value)) {
        if (member.toLowerCase() !== 'members') throw new ScimRequestError('mutability', `${member} of a group is fixed: only members change.`)
        if (op === 'replace') { result.all = true; result.members.clear() }
        for (const id of memberIds(members)) result.members.set(id, true)
      }
    } else if (filtered !== null && op === 'remove') {
      result.members.set(filtered[1]!.toLowerCase(), false)
    } else if (path?.toLowerCase() === 'members') {
      if (op === 'remove' && value === undefined) { result.all = true; result.members.clear(); continue }
      if (op === 'replace') { result.all = true; result.members.clear() }
      for (const id of memberIds(value)) result.members.set(id, op !== 'remove')
    } else if (path?.toLowerCase() === 'displayname' || path?.toLowerCase() === 'id' || path === undefined) {
      throw new ScimRequestError('mutability', 'A group\'s name and id are fixed: only members change.')
    } else {
      throw new ScimRequestError('invalidPath', `${path} is not an attribute a group's PATCH can change.`)
    }
  }
  return result
}

/**
 * PATCH /Groups/{id}: joining a group gives its role; leaving `admin` makes a `user`; nobody
 * leaves `user` (every user has a role). All the role changes are one transaction.
 */
export async function patchScimGroup (domain: Domain, actor: Actor, id: string, body: unknown): Promise<void> {
  assertProvisioner(actor)
  const group = groupById(id)
  const { all, members } = memberChangesOf(body)
  const roles = new Map<string, Role>()
  if (all) {
    const current = await domain.db.select({ id: users.id }).from(users).where(eq(users.role, group.displayName))
    for (const member of current) if (!members.has(member.id)) members.set(member.id, false)
  }
  for (const [userId, joins] of members) {
    if (!joins && group.displayName === 'user') throw new ScimRequestError('mutability', 'Nobody leaves the group user: every user has a role. Add them to admin instead.')
    roles.set(userId, joins ? group.displayName : 'user')
  }
  const ids = [...roles.keys()]
  const unknown = ids.filter((userId) => !isCanonicalUuid(userId))
  const known = ids.length === unknown.length ? [] : await domain.db.select({ id: users.id, role: users.role }).from(users).where(inArray(users.id, ids.filter(isCanonicalUuid)))
  const missing = ids.find((userId) => !known.some((user) => user.id === userId))
  if (missing !== undefined) throw new ScimRequestError('invalidValue', `No user with id ${missing}.`)
  // Only who changes role: asking for the role a user has changes nothing.
  const changing = known.filter((user) => user.role !== roles.get(user.id)).map((user) => ({ id: user.id, role: roles.get(user.id)! }))
  if (changing.length > 0) await setRoles(domain, actor, changing, { scope: 'scim' })
}
