/**
 * npm run user:create -- --email ada@example.com [--name "Ada"] [--admin]
 * Reads the password from standard input: a hidden prompt on a terminal, the
 * first line otherwise (so it never shows up in the process list or shell history).
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.ts'
import { connectDatabase } from '../db/connect.ts'
import { DomainError } from '../common/errors.ts'
import { SYSTEM } from '../access/actor.ts'
import { NOTHING_REMEMBERED } from '../common/domain.ts'
import { createUser } from '../users/users.ts'

async function readPiped (): Promise<string> {
  let input = ''
  for await (const chunk of process.stdin) input += String(chunk)
  return input.split(/\r?\n/)[0] ?? ''
}

function promptHidden (question: string): Promise<string> {
  process.stderr.write(question)
  process.stdin.setRawMode(true)
  process.stdin.setEncoding('utf8')
  return new Promise((resolve) => {
    let answer = ''
    const onData = (key: string) => {
      if (key === '\r' || key === '\n') {
        process.stdin.setRawMode(false)
        process.stdin.off('data', onData)
        process.stdin.pause()
        process.stderr.write('\n')
        resolve(answer)
      } else if (key === '\u0003') {
        process.exit(130)
      } else if (key === '\u007f') {
        answer = answer.slice(0, -1)
      } else {
        answer += key
      }
    }
    process.stdin.on('data', onData)
  })
}

function fail (message: string): never {
  process.stderr.write(`user:create: ${message}\n`)
  process.exit(1)
}

const { values } = parseArgs({
  options: { email: { type: 'string' }, name: { type: 'string' }, admin: { type: 'boolean', default: false } }
})
if (values.email === undefined) fail('--email is required')
const email = values.email
const password = process.stdin.isTTY ? await promptHidden('password: ') : await readPiped()
if (password.length < 8 || password.length > 128) fail('the password must be 8–128 characters')

const connection = await connectDatabase(loadConfig().database)
try {
  await connection.migrate()
  // The operator at the machine: the CLI acts as the system, under the same rules as every caller.
  const user = await createUser({ db: connection.db, access: NOTHING_REMEMBERED }, SYSTEM, {
    email,
    name: values.name ?? email.split('@')[0]!,
    password,
    role: values.admin ? 'admin' : 'user'
  })
  process.stdout.write(`created ${user.role} ${user.email} (${user.id})\n`)
} catch (error) {
  if (error instanceof DomainError) fail(error.message)
  throw error
} finally {
  await connection.close()
}
