import type { FastifyInstance, FastifyReply } from 'fastify'
import Type from 'typebox'
import { problemResponses } from '../schemas/problem.js'
import { UserIdParams, UserListQuery, type UserCreate, type UserPatch, type UserReplace } from '../schemas/user.js'
import { decodeCursor, encodeCursor } from '../src/cursor.js'
import { ProblemError } from '../src/problems.js'
import { createUser, deleteUser, findUserById, listUsers, updateUser, type UserRecord } from '../src/users.js'

const tags = ['users']

function notFound (id: string): ProblemError {
  return new ProblemError('not-found', `No user with id ${id}.`)
}

function found (user: UserRecord | undefined, id: string): UserRecord {
  if (user === undefined) throw notFound(id)
  return user
}

function nextPageLink (path: string, query: UserListQuery, cursor: string): string {
  const parameters = new URLSearchParams()
  for (const [name, value] of Object.entries({ ...query, cursor })) {
    if (value !== undefined) parameters.set(name, String(value))
  }
  return `<${path}?${parameters}>; rel="next"`
}

/** The users resource: HTTP in, calls into src/users.ts, HTTP out. */
export default async function usersRoutes (app: FastifyInstance): Promise<void> {
  const collectionPath = `${app.prefix}/users`

  app.post<{ Body: UserCreate }>('/users', {
    schema: {
      tags,
      operationId: 'createUser',
      summary: 'Register a user',
      body: Type.Ref('UserCreate'),
      response: { 201: Type.Ref('User', { description: 'Created' }), ...problemResponses(400, 409, 413, 415, 422, 500) }
    }
  }, async (request, reply) => {
    const user = await createUser(app.db, request.body)
    return reply.code(201).header('location', `${collectionPath}/${user.id}`).send(user)
  })

  app.get<{ Querystring: UserListQuery }>('/users', {
    schema: {
      tags,
      operationId: 'listUsers',
      summary: 'List users, one keyset page at a time',
      description: 'Users come in ascending id order (UUID v7, so creation order). Following `next_cursor` visits every user exactly once, even while users are created: new users sort after every existing one.',
      querystring: UserListQuery,
      response: { 200: Type.Ref('UserList', { description: 'A page of users' }), ...problemResponses(400, 500) }
    }
  }, async (request, reply) => {
    const { cursor, limit, email, role, q } = request.query
    const after = cursor === undefined ? undefined : decodeCursor(cursor)
    if (cursor !== undefined && after === undefined) {
      throw new ProblemError('invalid-parameters', 'The cursor is not one this service issued.', {
        errors: [{ pointer: 'cursor', detail: 'is not a valid cursor' }]
      })
    }
    const page = await listUsers(app.db, { limit, after, email, role, q })
    const last = page.users.at(-1)
    const nextCursor = page.hasMore && last !== undefined ? encodeCursor(last.id) : null
    if (nextCursor !== null) reply.header('link', nextPageLink(collectionPath, request.query, nextCursor))
    return { data: page.users, next_cursor: nextCursor }
  })

  app.get<{ Params: UserIdParams }>('/users/:id', {
    schema: {
      tags,
      operationId: 'getUser',
      summary: 'Read a user',
      params: UserIdParams,
      response: { 200: Type.Ref('User', { description: 'The user' }), ...problemResponses(400, 404, 500) }
    }
  }, async (request) => found(await findUserById(app.db, request.params.id), request.params.id))

  app.put<{ Params: UserIdParams, Body: UserReplace }>('/users/:id', {
    schema: {
      tags,
      operationId: 'replaceUser',
      summary: 'Replace a user\'s email, name and (admins only) role',
      params: UserIdParams,
      body: Type.Ref('UserReplace'),
      response: { 200: Type.Ref('User', { description: 'The updated user' }), ...problemResponses(400, 404, 409, 413, 415, 422, 500) }
    }
  }, async (request) => found(await updateUser(app.db, request.params.id, request.body), request.params.id))

  app.patch<{ Params: UserIdParams, Body: UserPatch }>('/users/:id', {
    schema: {
      tags,
      operationId: 'updateUser',
      summary: 'Change some of a user\'s members',
      params: UserIdParams,
      body: Type.Ref('UserPatch'),
      response: { 200: Type.Ref('User', { description: 'The updated user' }), ...problemResponses(400, 404, 409, 413, 415, 422, 500) }
    }
  }, async (request) => found(await updateUser(app.db, request.params.id, request.body), request.params.id))

  app.delete<{ Params: UserIdParams }>('/users/:id', {
    schema: {
      tags,
      operationId: 'deleteUser',
      summary: 'Delete a user',
      params: UserIdParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(400, 404, 500) }
    }
  }, async (request, reply: FastifyReply) => {
    if (!await deleteUser(app.db, request.params.id)) throw notFound(request.params.id)
    return reply.code(204).send()
  })
}
