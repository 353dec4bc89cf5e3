import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ProblemError } from '../../src/http/problem-error.ts'

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i

/** A body declared in another charset than UTF-8 would be read as UTF-8 and mangled. */
function assertUtf8 (request: FastifyRequest): void {
  const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase()
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ProblemError('unsupported-media-type', `The body is declared as ${charset}; send it as UTF-8.`)
  }
}

/**
 * Which bodies the API reads: JSON (application/json, and application/merge-patch+json
 * for PATCH), in UTF-8, and nothing else: plain text is a 415, not a string that fails
 * validation. Routes that need forms (the OAuth endpoints) add a parser in their scope.
 */
async function bodyParsersPlugin (app: FastifyInstance): Promise<void> {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const utf8Json = (request: FastifyRequest, body: string | Buffer, done: (error: Error | null, value?: unknown) => void): void => {
    try {
      assertUtf8(request)
    } catch (error) {
      done(error as Error)
      return
    }
    parseJson(request, body as string, done)
  }
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser(['application/json', 'application/merge-patch+json', 'application/scim+json'], { parseAs: 'string' }, utf8Json)
}

export default fp(bodyParsersPlugin, { name: 'body-parsers', fastify: '5.x' })
