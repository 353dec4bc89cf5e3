import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { loggerOptions } from '../../src/observability/logger.ts'

function capture (): { lines: Array<Record<string, unknown>>, stream: Writable } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    }
  })
  return { lines, stream }
}

t.test('secrets are censored at the top of a line, one level down and in a request\'s headers; nothing else changes', async (t) => {
  const { lines, stream } = capture()
  const logger = pino(loggerOptions('info'), stream)
  const user = { email: 'ada@example.com', password: 'correct horse', password_hash: '$argon2id$...' }
  const request = { method: 'GET', headers: { authorization: 'Bearer abc', cookie: 'session=1', accept: 'application/json' } }
  logger.info({ token: 'secret-token', user, req: request, count: 3, tags: ['a'] }, 'something happened')
  t.match(lines[0], {
    msg: 'something happened',
    level: 'info',
    token: '[redacted]',
    user: { email: 'ada@example.com', password: '[redacted]', password_hash: '[redacted]' },
    req: { method: 'GET', headers: { authorization: '[redacted]', cookie: '[redacted]', accept: 'application/json' } },
    count: 3,
    tags: ['a']
  })
  t.match(lines[0]!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'an ISO timestamp')
  t.equal(user.password, 'correct horse', 'the logged objects themselves are left alone')
  t.equal(request.headers.authorization, 'Bearer abc')
})
