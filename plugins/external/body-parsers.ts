import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { assertUtf8Charset, utf8Text } from '../../src/http/body-encoding.ts'

/**
 * Which bodies the API reads: JSON (application/json, and application/merge-patch+json
 * for PATCH), in UTF-8 (declared otherwise: 415; bytes that are not: 400), and nothing
 * else: plain text is a 415, not a string that fails validation. Routes that need forms (the OAuth endpoints) add a parser in their scope.
 */
async function bodyParsersPlugin (app: FastifyInstance): Promise<void> {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const utf8Json = (request: FastifyRequest, body: string | Buffer, done: (error: Error | null, value?: unknown) => void): void => {
    let text: string
    try {
      assertUtf8Charset(request)
      text = utf8Text(body as Buffer)
    } catch (error) {
      done(error as Error)
      return
    }
    parseJson(request, text, done)
  }
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser(['application/json', 'application/merge-patch+json', 'application/scim+json'], { parseAs: 'buffer' }, utf8Json)
}

export default fp(bodyParsersPlugin, { name: 'body-parsers', fastify: '5.x' })
