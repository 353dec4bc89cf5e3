import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { emptyResponse } from '../schemas/headers.ts'
import { refTo } from '../schemas/ref.ts'
import { ScimDefinition, ScimDefinitionList, ScimGroup, ScimGroupList, ScimIdParams, ScimListQuery, ScimPatchBody, ScimProjection, ScimResourceBody, ScimServiceProviderConfig, ScimUser, ScimUserList, scimErrors, scimResponse } from '../schemas/scim.ts'
import { clientOnly } from '../schemas/security.ts'
import { actorOf } from '../src/http/actor.ts'
import { isCanonicalUuid } from '../src/common/ids.ts'
import { decodeCursor, encodeCursor } from '../src/http/cursor.ts'
import { etagFor, versionsFromIfMatch } from '../src/http/etag.ts'
import { listResponse, projected, SCIM_MEDIA_TYPE, scimBase, scimGroupResource, scimUserResource, wantsAttribute } from '../src/http/scim-resources.ts'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, resourceTypes, schemaResources, serviceProviderConfig } from '../src/scim/discovery.ts'
import { getScimGroup, listScimGroups, patchScimGroup, refuseGroupChange } from '../src/scim/groups.ts'
import { createScimUser, deleteScimUser, getScimUser, listScimUsers, patchScimUser, replaceScimUser, type ScimUserRow } from '../src/scim/users.ts'

const tags = ['scim']
const security = clientOnly('scim')
const etagHeader = { ETag: { type: 'string', description: 'The user\'s version, as meta.version: send it as If-Match.' } }
const locationHeader = { Location: { type: 'string', description: 'The new user\'s meta.location.' } }

/** SCIM 2.0 (RFC 7643, RFC 7644) at /scim/v2, for identity providers: HTTP in, src/scim/ out. */
const scimRoutes: FastifyPluginAsyncTypebox<{ publicUrl: string | undefined }> = async function scimRoutes (app, { publicUrl }) {
  const base = scimBase(publicUrl)
  const guard = { onRequest: app.authenticate }

  function sendUser (query: { attributes?: string | undefined, excludedAttributes?: string | undefined }, reply: FastifyReply, row: ScimUserRow): FastifyReply {
    const { attributes, excludedAttributes } = query
    return reply.type(SCIM_MEDIA_TYPE).header('etag', etagFor(row.version)).send(projected(scimUserResource(row, base), attributes, excludedAttributes))
  }

  app.get('/ServiceProviderConfig', {
    schema: { tags, operationId: 'scimServiceProviderConfig', summary: 'SCIM: what this service supports', description: 'RFC 7643 §5: PATCH, filters (at most 200 results a page) and ETags; pagination by index and by cursor (RFC 9865); no bulk, sort or changePassword; OAuth bearer tokens.', security, response: { 200: scimResponse(ScimServiceProviderConfig, 'The configuration'), ...scimErrors(401, 403, 500, 503) } },
    ...guard
  }, async (request, reply) => reply.type(SCIM_MEDIA_TYPE).send(serviceProviderConfig(actorOf(request), base)))

  app.get('/ResourceTypes', {
    schema: { tags, operationId: 'scimResourceTypes', summary: 'SCIM: the resource types, User and Group', description: 'A ListResponse of the two resource types, without schema extensions.', security, response: { 200: scimResponse(ScimDefinitionList, 'The resource types'), ...scimErrors(401, 403, 500, 503) } },
    ...guard
  }, async (request, reply) => {
    const types = resourceTypes(actorOf(request), base)
    return reply.type(SCIM_MEDIA_TYPE).send(listResponse(types, types.length, { startIndex: 1 }))
  })

  app.get('/Schemas', {
    schema: { tags, operationId: 'scimSchemas', summary: 'SCIM: the attributes this service keeps, as it keeps them', description: 'A ListResponse of the User and Group schemas (RFC 7643 §7): only the attributes this service keeps, with their mutability and uniqueness.', security, response: { 200: scimResponse(ScimDefinitionList, 'The schemas'), ...scimErrors(401, 403, 500, 503) } },
    ...guard
  }, async (request, reply) => {
    const schemas = schemaResources(actorOf(request), base)
    return reply.type(SCIM_MEDIA_TYPE).send(listResponse(schemas, schemas.length, { startIndex: 1 }))
  })

  app.get('/Schemas/:id', {
    schema: { tags, operationId: 'scimSchema', summary: 'SCIM: one schema, by its URN', description: 'The User or the Group schema; any other URN is a 404.', security, params: ScimIdParams, response: { 200: scimResponse(ScimDefinition, 'The schema'), ...scimErrors(401, 403, 404, 500, 503) } },
    ...guard
  }, async (request, reply) => {
    const found = schemaResources(actorOf(request), base).find((schema) => schema.id === request.params.id)
    if (found === undefined) return reply.callNotFound()
    return reply.type(SCIM_MEDIA_TYPE).send(found)
  })

  app.get('/Users', {
    schema: {
      tags,
      operationId: 'scimListUsers',
      summary: 'SCIM: list users, with a filter, by index or by cursor',
      description: `Users in creation order. \`startIndex\` (1-based) and \`count\` (default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE}), or \`cursor\` (empty for the first page, then \`nextCursor\`; RFC 9865) and \`count\`; a cursor walk gives \`totalResults\` on its first page only. \`userName eq\`, \`externalId eq\` and \`id eq\` are index lookups. A filter that does not parse, or names an attribute that cannot be filtered: 400 invalidFilter; a cursor this service did not issue for this filter: 400 invalidCursor.`,
      security,
      querystring: ScimListQuery,
      response: { 200: scimResponse(ScimUserList, 'A page of users'), ...scimErrors(400, 401, 403, 429, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    const { filter, cursor, attributes, excludedAttributes } = request.query
    const count = Math.min(request.query.count ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    const startIndex = Math.max(request.query.startIndex ?? 1, 1)
    const scope = { sort: 'scim', filters: { filter } }
    const after = cursor === undefined || cursor === '' ? undefined : decodeCursor(cursor, scope, (position) => isCanonicalUuid(position.id)).id
    // Counting every match costs what a walk's page costs many times over at a million users
    // (16 pages a second, bench/): a walk by cursor counts on its first page only.
    const { rows, total, hasMore } = await listScimUsers(app.domain, actorOf(request), { filter, count, startIndex, after, countTotal: after === undefined })
    const last = rows.at(-1)
    const page = cursor === undefined ? { startIndex } : { nextCursor: hasMore && last !== undefined ? encodeCursor(scope, { key: '', id: last.id }) : undefined }
    return reply.type(SCIM_MEDIA_TYPE).send(listResponse(rows.map((row) => projected(scimUserResource(row, base), attributes, excludedAttributes)), total, page))
  })

  app.post('/Users', {
    schema: {
      tags,
      operationId: 'scimCreateUser',
      summary: 'SCIM: provision a user',
      description: 'userName (the email) is required; a user without a password sets one by a password reset. A taken userName or externalId: 409 uniqueness.',
      security,
      querystring: ScimProjection,
      body: refTo(ScimResourceBody),
      response: { 201: scimResponse(ScimUser, 'Created', { ...locationHeader, ...etagHeader }), ...scimErrors(400, 401, 403, 409, 413, 415, 429, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    const row = await createScimUser(app.domain, actorOf(request), request.body)
    return sendUser(request.query, reply.code(201).header('location', `${base}/Users/${row.id}`), row)
  })

  app.get('/Users/:id', {
    schema: { tags, operationId: 'scimGetUser', summary: 'SCIM: read a user', description: 'The user with its `ETag` (also `meta.version`); `attributes` and `excludedAttributes` choose what is returned.', security, params: ScimIdParams, querystring: ScimProjection, response: { 200: scimResponse(ScimUser, 'The user', etagHeader), ...scimErrors(401, 403, 404, 429, 500, 503) } },
    ...guard
  }, async (request, reply) => sendUser(request.query, reply, await getScimUser(app.domain, actorOf(request), request.params.id)))

  const writeResponses = { 200: scimResponse(ScimUser, 'The user as it is now', etagHeader), ...scimErrors(400, 401, 403, 404, 409, 412, 413, 415, 429, 500, 503) }

  app.put('/Users/:id', {
    schema: {
      tags,
      operationId: 'scimReplaceUser',
      summary: 'SCIM: replace a user\'s attributes',
      description: 'The mutable attributes as sent: name parts and displayName not sent are cleared; externalId and active, when not sent, stay. With If-Match, a stale version is a 412.',
      security,
      params: ScimIdParams,
      querystring: ScimProjection,
      body: refTo(ScimResourceBody),
      response: writeResponses
    },
    ...guard
  }, async (request, reply) => sendUser(request.query, reply, await replaceScimUser(app.domain, actorOf(request), request.params.id, request.body, versionsFromIfMatch(request.headers['if-match']))))

  app.patch('/Users/:id', {
    schema: {
      tags,
      operationId: 'scimPatchUser',
      summary: 'SCIM: change some of a user\'s attributes',
      description: 'A PatchOp: add, replace and remove, applied all or nothing. Accepted as identity providers send them: op in any case, active as "True"/"False", a replace without path whose value is an object, `emails[type eq "work"].value`. Attributes of the User schemas this service does not keep (title, phoneNumbers, the enterprise extension) are accepted and ignored. `active: false` disables the user and ends their sessions.',
      security,
      params: ScimIdParams,
      querystring: ScimProjection,
      body: refTo(ScimPatchBody),
      response: writeResponses
    },
    ...guard
  }, async (request, reply) => sendUser(request.query, reply, await patchScimUser(app.domain, actorOf(request), request.params.id, request.body, versionsFromIfMatch(request.headers['if-match']))))

  app.delete('/Users/:id', {
    schema: { tags, operationId: 'scimDeleteUser', summary: 'SCIM: delete a user', description: 'The user is deleted for good, as DELETE /v1/users/{id} does; the last active admin stays (409).', security, params: ScimIdParams, response: { 204: emptyResponse('Deleted'), ...scimErrors(401, 403, 404, 409, 412, 429, 500, 503) } },
    ...guard
  }, async (request, reply) => {
    await deleteScimUser(app.domain, actorOf(request), request.params.id, versionsFromIfMatch(request.headers['if-match']))
    return reply.code(204).send()
  })

  app.get('/Groups', {
    schema: {
      tags,
      operationId: 'scimListGroups',
      summary: 'SCIM: the groups, which are the roles',
      description: 'Two groups, `admin` and `user`, with fixed ids; filter on displayName or id. Listing members of a group of more than 10,000 is a 400 tooMany: ask with excludedAttributes=members.',
      security,
      querystring: ScimListQuery,
      response: { 200: scimResponse(ScimGroupList, 'The groups'), ...scimErrors(400, 401, 403, 429, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    const { filter, attributes, excludedAttributes } = request.query
    const groups = await listScimGroups(app.domain, actorOf(request), filter, wantsAttribute('members', attributes, excludedAttributes))
    const resources = groups.map((group) => projected(scimGroupResource(group, base), attributes, excludedAttributes))
    return reply.type(SCIM_MEDIA_TYPE).send(listResponse(resources, resources.length, { startIndex: 1 }))
  })

  app.get('/Groups/:id', {
    schema: { tags, operationId: 'scimGetGroup', summary: 'SCIM: one group (role) and its members', description: 'The group and its members (a group of more than 10,000: 400 tooMany unless excludedAttributes=members).', security, params: ScimIdParams, querystring: ScimProjection, response: { 200: scimResponse(ScimGroup, 'The group'), ...scimErrors(400, 401, 403, 404, 429, 500, 503) } },
    ...guard
  }, async (request, reply) => {
    const { attributes, excludedAttributes } = request.query
    const group = await getScimGroup(app.domain, actorOf(request), request.params.id, wantsAttribute('members', attributes, excludedAttributes))
    return reply.type(SCIM_MEDIA_TYPE).send(projected(scimGroupResource(group, base), attributes, excludedAttributes))
  })

  app.patch('/Groups/:id', {
    schema: {
      tags,
      operationId: 'scimPatchGroup',
      summary: 'SCIM: add or remove members, which changes their role',
      description: 'Joining `admin` makes a user an admin, leaving it makes them a `user`; joining `user` takes admin away; nobody leaves `user` (400 mutability). All the changes or none; the last active admin stays (409).',
      security,
      params: ScimIdParams,
      body: refTo(ScimPatchBody),
      response: { 204: emptyResponse('Changed'), ...scimErrors(400, 401, 403, 404, 409, 413, 415, 429, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    await patchScimGroup(app.domain, actorOf(request), request.params.id, request.body)
    return reply.code(204).send()
  })

  const refused = { tags, security, response: scimErrors(401, 403, 500, 503) }
  for (const [method, url, operationId] of [['POST', '/Groups', 'scimCreateGroup'], ['PUT', '/Groups/:id', 'scimReplaceGroup'], ['DELETE', '/Groups/:id', 'scimDeleteGroup']] as const) {
    app.route({ method, url, schema: { ...refused, operationId, summary: 'SCIM: refused, 403: the groups are the roles', description: 'The groups are the two roles: they are not created, replaced or deleted. Change their members with PATCH.' }, ...guard, handler: async (request) => refuseGroupChange(actorOf(request)) })
  }
}

export default scimRoutes
