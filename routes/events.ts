import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { EventList, EventListQuery } from '../schemas/event.ts'
import { jsonResponse } from '../schemas/headers.ts'
import { problemResponses } from '../schemas/problem.ts'
import { bearerOrClient } from '../schemas/security.ts'
import { readFeed } from '../src/events/feed.ts'
import { actorOf } from '../src/http/actor.ts'
import { decodeFeedCursor, encodeFeedCursor } from '../src/http/feed-cursor.ts'

/** The change feed, for services that keep copies of users and for auditors. */
const eventsRoutes: FastifyPluginAsyncTypebox = async function eventsRoutes (app) {
  app.get('/events', {
    schema: {
      tags: ['events'],
      operationId: 'listEvents',
      summary: 'Read the change feed, in order',
      description: 'Every change to a user as a CloudEvent, oldest first. Follow `next_cursor` (pass it as `after`): it is always present, also when nothing new has come, and a consumer that follows it sees every event exactly once, each user\'s in the order of their changes, however many requests write at once. Events are kept `EVENTS_RETENTION_DAYS` days.',
      security: bearerOrClient('events:read'),
      querystring: EventListQuery,
      response: { 200: jsonResponse(EventList, 'A page of the feed'), ...problemResponses(400, 401, 403, 500, 503) }
    },
    onRequest: app.authenticate
  }, async (request) => {
    const { after, limit, type, subject } = request.query
    const position = after === undefined ? undefined : (newest: number) => decodeFeedCursor(after, newest)
    const page = await readFeed(app.domain, actorOf(request), { after: position, limit, type, subject })
    return { data: page.events.map((stored) => stored.event), next_cursor: encodeFeedCursor(page.next) }
  })
}

export default eventsRoutes
