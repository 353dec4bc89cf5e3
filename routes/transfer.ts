import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Readable } from 'node:stream'
import Type from 'typebox'
import { jsonResponse } from '../schemas/headers.ts'
import { problemResponses } from '../schemas/problem.ts'
import { refTo } from '../schemas/ref.ts'
import { bearerOrClient } from '../schemas/security.ts'
import { ImportRequest, ImportSummary, PersonExport } from '../schemas/transfer.ts'
import { User, UserIdParams } from '../schemas/user.ts'
import { actorOf } from '../src/http/actor.ts'
import { exportPerson, exportUsers } from '../src/transfer/export.ts'
import { importUsers } from '../src/transfer/import.ts'
import { jsonLines, ndjsonLines } from '../src/transfer/lines.ts'

const tags = ['users']
const NDJSON = 'application/x-ndjson'

/** Moving users in: HTTP in, src/transfer out. */
const transferRoutes: FastifyPluginAsyncTypebox<{ importBodyLimitBytes: number }> = async function transferRoutes (app, { importBodyLimitBytes }) {
  // The NDJSON body reaches the handler as the request stream, read a line at a time.
  app.addContentTypeParser(NDJSON, (_request, payload, done) => { done(null, payload) })

  app.post('/users/import', {
    bodyLimit: importBodyLimitBytes,
    schema: {
      tags,
      operationId: 'importUsers',
      summary: 'Import users, with the password hashes they had elsewhere',
      description: `NDJSON (\`${NDJSON}\`, one user a line, streamed) or JSON \`{users: [...]}\`; at most 10,000 users and IMPORT_BODY_LIMIT_BYTES (32 MiB by default) a request, else 413. Each user is judged on its own; the answer says what became of each. \`password_hash\` may be bcrypt (\`$2a$\`, \`$2b$\`, \`$2y$\`), argon2 (PHC), scrypt (\`$scrypt$ln=…,r=…,p=…$salt$hash\`), PBKDF2 (\`$pbkdf2-sha256$i=…,l=…$salt$hash\`, sha512 too, or Django's \`pbkdf2_sha256$…\`) or Firebase's scrypt (\`$firescrypt$ln=…,r=…,p=…$salt$hash$separator$signerKey\`), with bounded parameters; it becomes argon2id at the user's first login. A user without one logs in after a password reset.`,
      security: bearerOrClient('users:import'),
      body: {
        content: {
          'application/json': { schema: refTo(ImportRequest) },
          [NDJSON]: { schema: Type.Unknown({ description: 'One user object a line, as in `users` of the JSON form.' }) }
        }
      },
      response: { 200: jsonResponse(ImportSummary, 'What became of each user'), ...problemResponses(400, 401, 403, 413, 415, 422, 500, 503) }
    },
    onRequest: app.authenticate
  }, async (request) => {
    const contentType = request.headers['content-type'] ?? ''
    const lines = contentType.startsWith(NDJSON) ? ndjsonLines(request.body as Readable, importBodyLimitBytes) : jsonLines((request.body as { users: unknown[] }).users)
    return importUsers(app.domain, actorOf(request), lines)
  })

  app.get('/users/export', {
    schema: {
      tags,
      operationId: 'exportUsers',
      summary: 'Export every user, one a line',
      description: `\`${NDJSON}\`: every user as the API shows it, one JSON object a line, in id order, streamed from the database a page at a time (memory stays flat at any number of users). For admins and clients with \`users:import\`; each line has the User schema.`,
      security: bearerOrClient('users:import'),
      response: { 200: { description: 'Every user, one a line', content: { [NDJSON]: { schema: Type.Unsafe<Readable>(refTo(User)) } } }, ...problemResponses(400, 401, 403, 500, 503) }
    },
    onRequest: app.authenticate
  }, async (request, reply) => {
    const rows = exportUsers(app.domain, actorOf(request))
    const lines = Readable.from((async function * () { for await (const row of rows) yield `${JSON.stringify(row)}\n` })())
    return reply.type(NDJSON).send(lines)
  })

  app.get('/users/:id/export', {
    schema: {
      tags,
      operationId: 'exportPerson',
      summary: 'Everything kept about one person',
      description: 'The user, their sessions, their factors (no secret) and the retained events about them (GDPR Art. 15 and 20). For the person themself, an admin, or a client with `users:read`.',
      security: bearerOrClient('users:read'),
      params: UserIdParams,
      response: { 200: jsonResponse(PersonExport, 'The person\'s data'), ...problemResponses(400, 401, 403, 404, 500, 503) }
    },
    onRequest: app.authenticate
  }, async (request) => exportPerson(app.domain, actorOf(request), request.params.id))
}

export default transferRoutes
