import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ApiKeyCreate, ApiKeyList, ApiKeyParams, Client, ClientCreate, ClientIdParams, ClientList, ClientListQuery, ClientPatch, CreatedApiKey, CreatedClient, NewClientSecret, SecretParams, SecretRotation } from '../schemas/client.ts'
import { emptyResponse, etagHeader, jsonResponse, locationHeader } from '../schemas/headers.ts'
import { problemResponses } from '../schemas/problem.ts'
import { refTo } from '../schemas/ref.ts'
import { bearer } from '../schemas/security.ts'
import { createClient, deleteClient, getClient, listClients, updateClient, type ClientRecord } from '../src/clients/clients.ts'
import { createApiKey, deleteApiKey, listApiKeys, rotateClientSecret, deleteClientSecret } from '../src/clients/credentials.ts'
import { actorOf } from '../src/http/actor.ts'
import { decodeCursor, encodeCursor } from '../src/http/cursor.ts'
import { etagFor, versionsFromIfMatch } from '../src/http/etag.ts'
import { isCanonicalUuid } from '../src/common/ids.ts'

const tags = ['clients']
const deleted = { 204: emptyResponse('Deleted') }
// Clients are listed by id: UUID v7s, in the order they were registered.
const LISTING = { sort: 'id', filters: {} }

function withEtag (reply: FastifyReply, client: ClientRecord): FastifyReply {
  return reply.header('etag', etagFor(client.version))
}

/** Machine clients, their secrets and API keys: for admins (people) only, which the domain decides. */
const clientsRoutes: FastifyPluginAsyncTypebox = async function clientsRoutes (app) {
  const collectionPath = `${app.prefix}/clients`
  const guard = { onRequest: app.authenticate }
  const ifMatch = (request: FastifyRequest): number[] | undefined => versionsFromIfMatch(request.headers['if-match'])

  app.post('/clients', {
    schema: {
      tags,
      operationId: 'createClient',
      summary: 'Register a machine client',
      description: 'A client of a secret method (`client_secret_basic`, the default, or `client_secret_post`) gets its first secret in `client_secret`, shown this once. A `private_key_jwt` client needs `jwks`: public Ed25519 or P-256 keys only (a private member or a symmetric key is a 422). Unknown scopes are a 422, a name taken a 409.',
      security: bearer,
      body: refTo(ClientCreate),
      response: { 201: jsonResponse(CreatedClient, 'Registered', { ...locationHeader, ...etagHeader }), ...problemResponses(400, 401, 403, 409, 413, 415, 422, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    const { client, secret } = await createClient(app.domain, actorOf(request), request.body)
    withEtag(reply.code(201).header('location', `${collectionPath}/${client.id}`), client)
    return { ...client, ...(secret === undefined ? {} : { client_secret: secret }) }
  })

  app.get('/clients', {
    schema: {
      tags,
      operationId: 'listClients',
      summary: 'List machine clients, one keyset page at a time',
      description: 'Oldest first. Follow `next_cursor` to visit every client once.',
      security: bearer,
      querystring: ClientListQuery,
      response: { 200: jsonResponse(ClientList, 'A page of clients'), ...problemResponses(400, 401, 403, 500, 503) }
    },
    ...guard
  }, async (request) => {
    const { limit, cursor } = request.query
    const after = cursor === undefined ? undefined : decodeCursor(cursor, LISTING, (position) => isCanonicalUuid(position.id) && position.key === position.id).id
    const page = await listClients(app.domain, actorOf(request), { limit, after })
    const last = page.clients.at(-1)
    return { data: page.clients, next_cursor: page.hasMore && last !== undefined ? encodeCursor(LISTING, { key: last.id, id: last.id }) : null }
  })

  app.get('/clients/:id', {
    schema: {
      tags,
      operationId: 'getClient',
      summary: 'Read a machine client',
      description: 'With its live secrets\' ids and dates, never the secrets; the `ETag` is its version, for `If-Match`.',
      security: bearer,
      params: ClientIdParams,
      response: { 200: jsonResponse(Client, 'The client', etagHeader), ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    const client = await getClient(app.domain, actorOf(request), request.params.id)
    withEtag(reply, client)
    return client
  })

  app.patch('/clients/:id', {
    schema: {
      tags,
      operationId: 'updateClient',
      summary: 'Change a machine client\'s name, scopes, status or keys',
      description: 'A JSON merge patch. `status: disabled` refuses the client\'s tokens and API keys at once, on every replica; scopes taken away are taken from its API keys too. `jwks` only for `private_key_jwt` clients. With `If-Match`, a stale version is a 412.',
      security: bearer,
      params: ClientIdParams,
      body: refTo(ClientPatch),
      response: { 200: jsonResponse(Client, 'The updated client', etagHeader), ...problemResponses(400, 401, 403, 404, 409, 412, 413, 415, 422, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    const client = await updateClient(app.domain, actorOf(request), request.params.id, request.body, ifMatch(request))
    withEtag(reply, client)
    return client
  })

  app.delete('/clients/:id', {
    schema: {
      tags,
      operationId: 'deleteClient',
      summary: 'Delete a machine client, its secrets and its API keys',
      description: 'Its tokens and keys are refused at once. With `If-Match`, a stale version is a 412.',
      security: bearer,
      params: ClientIdParams,
      response: { ...deleted, ...problemResponses(400, 401, 403, 404, 412, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    await deleteClient(app.domain, actorOf(request), request.params.id, ifMatch(request))
    return reply.code(204).send()
  })

  app.post('/clients/:id/secrets', {
    schema: {
      tags,
      operationId: 'rotateClientSecret',
      summary: 'Add a new secret; the older ones expire after a grace period',
      description: 'Returns the new secret this once. Every older live secret keeps working for `previous_expires_in` seconds (default 86400; 0 ends them at once), so the new one can be rolled out without downtime. A `private_key_jwt` client has no secrets (409).',
      security: bearer,
      params: ClientIdParams,
      body: refTo(SecretRotation),
      response: { 201: jsonResponse(NewClientSecret, 'The new secret'), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    reply.code(201)
    return rotateClientSecret(app.domain, actorOf(request), request.params.id, request.body.previous_expires_in)
  })

  app.delete('/clients/:id/secrets/:secret_id', {
    schema: {
      tags,
      operationId: 'deleteClientSecret',
      summary: 'Delete a client secret: it stops working at once',
      description: 'Tokens already issued with it keep working until they expire; no new ones are issued with it.',
      security: bearer,
      params: SecretParams,
      response: { ...deleted, ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    await deleteClientSecret(app.domain, actorOf(request), request.params.id, request.params.secret_id)
    return reply.code(204).send()
  })

  app.post('/clients/:id/api-keys', {
    schema: {
      tags,
      operationId: 'createApiKey',
      summary: 'Issue an API key: a static bearer token for the client',
      description: 'Returns the key (`usk_…`) this once. `scopes` default to the client\'s and may not exceed them (422).',
      security: bearer,
      params: ClientIdParams,
      body: refTo(ApiKeyCreate),
      response: { 201: jsonResponse(CreatedApiKey, 'The new key'), ...problemResponses(400, 401, 403, 404, 413, 415, 422, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    const { expires_at: expiresAt, ...input } = request.body
    reply.code(201)
    return createApiKey(app.domain, actorOf(request), request.params.id, { ...input, expires_at: expiresAt === undefined ? undefined : new Date(expiresAt) })
  })

  app.get('/clients/:id/api-keys', {
    schema: {
      tags,
      operationId: 'listApiKeys',
      summary: 'List a client\'s API keys (never the keys themselves)',
      description: 'Oldest first, expired ones included.',
      security: bearer,
      params: ClientIdParams,
      response: { 200: jsonResponse(ApiKeyList, 'The keys'), ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...guard
  }, async (request) => ({ data: await listApiKeys(app.domain, actorOf(request), request.params.id) }))

  app.delete('/clients/:id/api-keys/:key_id', {
    schema: {
      tags,
      operationId: 'deleteApiKey',
      summary: 'Delete an API key: refused at once',
      description: 'On every replica within about a second.',
      security: bearer,
      params: ApiKeyParams,
      response: { ...deleted, ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    ...guard
  }, async (request, reply) => {
    await deleteApiKey(app.domain, actorOf(request), request.params.id, request.params.key_id)
    return reply.code(204).send()
  })
}

export default clientsRoutes
