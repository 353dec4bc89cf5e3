import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import { emptyResponse, etagHeader, jsonResponse, linkHeader, locationHeader } from '../schemas/headers.ts'
import { problemResponses } from '../schemas/problem.ts'
import { refTo } from '../schemas/ref.ts'
import { bearer, bearerOrClient } from '../schemas/security.ts'
import { DEFAULT_USER_SORT, User, UserCreate, UserIdParams, UserList, UserListQuery, UserPatch, UserReplace, type UserChangesBody } from '../schemas/user.ts'
import { actorOf } from '../src/http/actor.ts'
import { decodeCursor, encodeCursor } from '../src/http/cursor.ts'
import { etagFor, ifNoneMatchMatches, versionsFromIfMatch } from '../src/http/etag.ts'
import { isPositionFor, listUsers, positionAfter } from '../src/users/listing.ts'
import { createUser, deleteUser, getCurrentUser, getUser, updateUser, type UserRecord } from '../src/users/users.ts'

const tags = ['users']

/** A single user always travels with its ETag; a matching If-None-Match gets a 304. */
function sendUser (request: FastifyRequest, reply: FastifyReply, user: UserRecord): FastifyReply {
  const etag = etagFor(user.version)
  reply.header('etag', etag)
  // Not no-store: a client's own cache may keep it, and asks again with If-None-Match each time.
  if (request.method === 'GET') reply.header('cache-control', 'private, no-cache')
  if (request.method === 'GET' && ifNoneMatchMatches(request.headers['if-none-match'], etag)) return reply.code(304).send()
  return reply.send(user)
}

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({
    minLength: 1,
    maxLength: 255,
    description: 'Makes a retry safe: the same key and body within 24 hours replays the first response (marked `Idempotent-Replayed: true`); the same key with another body is a 422; while the first request runs, a 409. Keys are per caller (token subject, else client address).'
  }))
})

const notModified = { 304: { ...emptyResponse('Not modified: the ETag still matches If-None-Match'), headers: etagHeader } }

function nextPageLink (path: string, query: Record<string, unknown>, cursor: string): string {
  const parameters = new URLSearchParams()
  for (const [name, value] of Object.entries({ ...query, cursor })) {
    if (value !== undefined) parameters.set(name, String(value))
  }
  return `<${path}?${parameters}>; rel="next"`
}

/** The users resource: HTTP in, calls into src/users.ts and src/user-listing.ts, HTTP out. */
const usersRoutes: FastifyPluginAsyncTypebox = async function usersRoutes (app) {
  const collectionPath = `${app.prefix}/users`

  app.post('/users', {
    schema: {
      tags,
      operationId: 'createUser',
      summary: 'Register a user',
      description: 'Anyone may sign up and gets the `user` role; setting `role` needs an admin token.',
      security: [{}, ...bearerOrClient('users:write')],
      headers: IdempotencyHeaders,
      body: refTo(UserCreate),
      response: { 201: jsonResponse(User, 'Created', { ...locationHeader, ...etagHeader }), ...problemResponses(400, 401, 403, 409, 413, 415, 422, 500, 503) }
    },
    onRequest: app.identify,
    preHandler: app.idempotency.preHandler,
    onSend: app.idempotency.onSend
  }, async (request, reply) => {
    const user = await createUser(app.domain, actorOf(request), request.body)
    return sendUser(request, reply.code(201).header('location', `${collectionPath}/${user.id}`), user)
  })

  app.get('/users', {
    schema: {
      tags,
      operationId: 'listUsers',
      summary: 'List users, one keyset page at a time',
      description: '`sort` orders users by `created_at` (the default), `email` or `name`, ascending, or descending with a leading `-`; ties are broken by id, in the same direction. Pagination is by keyset, so a deep page costs what the first does. Following `next_cursor` (or the `Link` header, which keeps `sort`, the filters and `include_total`) visits every matching user exactly once, even while users are created: those that sort after the page reached appear later on. A cursor is valid only with the sort and filters it was issued for, else 400. `include_total=true` adds `total`, the number of all matching users (whatever the cursor and limit), at the cost of counting them.',
      security: bearerOrClient('users:read'),
      querystring: UserListQuery,
      response: { 200: jsonResponse(UserList, 'A page of users', linkHeader), ...problemResponses(400, 401, 403, 500, 503) }
    },
    onRequest: app.authenticate
  }, async (request, reply) => {
    const { cursor, limit, sort = DEFAULT_USER_SORT, include_total: includeTotal, ...filters } = request.query
    // Emails match case-insensitively: a cursor serves every spelling of the same filter.
    const scope = { sort, filters: { ...filters, email: filters.email?.toLowerCase() } }
    const after = cursor === undefined ? undefined : decodeCursor(cursor, scope, (position) => isPositionFor(sort, position))
    const page = await listUsers(app.domain, actorOf(request), { ...filters, sort, limit, after, includeTotal })
    const last = page.users.at(-1)
    const nextCursor = page.hasMore && last !== undefined ? encodeCursor(scope, positionAfter(sort, last)) : null
    if (nextCursor !== null) reply.header('link', nextPageLink(collectionPath, request.query, nextCursor))
    return { data: page.users, next_cursor: nextCursor, total: page.total }
  })

  app.get('/users/me', {
    schema: {
      tags,
      operationId: 'getCurrentUser',
      summary: 'Read the user the token belongs to',
      description: 'The caller\'s own representation, with its `ETag`; a matching `If-None-Match` gets a 304. For people only: a machine client gets a 403.',
      security: bearer,
      response: { 200: jsonResponse(User, 'The caller', etagHeader), ...notModified, ...problemResponses(400, 401, 403, 500, 503) }
    },
    onRequest: app.authenticate
  }, async (request, reply) => sendUser(request, reply, await getCurrentUser(app.domain, actorOf(request))))

  // Credentials are checked before anything is parsed; who may touch which user (the
  // domain's rule) only once the id is known to be a UUID, so a malformed id is a 400 for everyone.
  const selfOrAdmin = { onRequest: app.authenticate }

  app.get('/users/:id', {
    schema: {
      tags,
      operationId: 'getUser',
      summary: 'Read a user (themself, or any as an admin)',
      description: 'Users may read themselves, admins anyone. The `ETag` is the user\'s version: send it back as `If-None-Match` to revalidate (304) or as `If-Match` to update safely.',
      security: bearerOrClient('users:read'),
      params: UserIdParams,
      response: { 200: jsonResponse(User, 'The user', etagHeader), ...notModified, ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...selfOrAdmin
  }, async (request, reply) => sendUser(request, reply, await getUser(app.domain, actorOf(request), request.params.id)))

  // PUT replaces email, name (and role); PATCH merges any subset. Both are the same write.
  async function write (request: FastifyRequest, reply: FastifyReply, id: string, changes: UserChangesBody): Promise<FastifyReply> {
    const updated = await updateUser(app.domain, actorOf(request), id, changes, versionsFromIfMatch(request.headers['if-match']))
    // A new email queued a notice to the old one: out now rather than at the next poll.
    if (changes.email !== undefined) app.mail.wake()
    return sendUser(request, reply, updated)
  }
  const writeResponses = { 200: jsonResponse(User, 'The updated user', etagHeader), ...problemResponses(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 500, 503) }

  app.put('/users/:id', {
    schema: {
      tags,
      operationId: 'replaceUser',
      summary: 'Replace a user\'s email, name and (admins only) role',
      description: 'Sets `email` and `name` (and `role`, admins only; sending the current role is allowed). Users changing their own email send `current_password` too (as for PATCH). With `If-Match`, the write happens only if the user is still at that version, else 412.',
      security: bearerOrClient('users:write'),
      params: UserIdParams,
      body: refTo(UserReplace),
      response: writeResponses
    },
    ...selfOrAdmin
  }, async (request, reply) => write(request, reply, request.params.id, request.body))

  app.patch('/users/:id', {
    schema: {
      tags,
      operationId: 'updateUser',
      summary: 'Change some of a user\'s members (role: admins only)',
      description: 'A JSON merge patch (`application/json` or `application/merge-patch+json`): members present change, the rest stay. A new `password` is hashed with argon2id, and every other session of the user ends. Users changing their own `password` or `email` send `current_password` too: without it, or with a wrong one, 403 and nothing changes; a wrong one counts as a failed login of the account, so past `LOGIN_MAX_FAILURES` guesses it is a 429 `login-delayed` like a login. A changed `email` (whoever changes it) is told to the old address by mail. `status` (admins only): `disabled` ends every session of the user at once; `active` lets them log in again (their old sessions stay ended). The last active admin cannot be demoted or disabled (409). A new password on the list of common or breached passwords, or only white space, is a 422. With `If-Match`, a stale version is a 412.',
      security: bearerOrClient('users:write'),
      params: UserIdParams,
      body: refTo(UserPatch),
      response: writeResponses
    },
    ...selfOrAdmin
  }, async (request, reply) => write(request, reply, request.params.id, request.body))

  app.delete('/users/:id', {
    schema: {
      tags,
      operationId: 'deleteUser',
      summary: 'Delete a user (themself, or any as an admin)',
      description: 'Deletes for good; the user\'s tokens stop working at once. The last active admin cannot be deleted (409). With `If-Match`, a stale version is a 412.',
      security: bearerOrClient('users:write'),
      params: UserIdParams,
      response: { 204: emptyResponse('Deleted'), ...problemResponses(400, 401, 403, 404, 409, 412, 500, 503) }
    },
    ...selfOrAdmin
  }, async (request, reply) => {
    await deleteUser(app.domain, actorOf(request), request.params.id, versionsFromIfMatch(request.headers['if-match']))
    return reply.code(204).send()
  })
}

export default usersRoutes
