/**
 * npm run user:create -- --email ada@example.com [--name "Ada"] [--admin]
 * Reads the password from standard input: a hidden prompt on a terminal, the
 * first line otherwise (so it never shows up in the process list or shell history).
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.ts'
import { connectDatabase } from '../db/connect.ts'
import { SYSTEM } from '../access/actor.ts'
import { operatorDomain } from './operator-domain.ts'
import { createUser } from '../users/users.ts'
import { CommandFailure, readInput, runAsMain, type CommandIo } from './command.ts'

function promptHidden (io: CommandIo, question: string): Promise<string> {
  const { stdin } = io
  io.stderr.write(question)
  stdin.setRawMode?.(true)
  stdin.setEncoding('utf8')
  return new Promise((resolve) => {
    let answer = ''
    const onData = (key: string) => {
      if (key === '\r' || key === '\n') {
        stdin.setRawMode?.(false)
        stdin.off('data', onData)
        stdin.pause()
        io.stderr.write('\n')
        resolve(answer)
      } else if (key === '\u0003') {
        process.exit(130)
      } else if (key === '\u007f') {
        answer = answer.slice(0, -1)
      } else {
        answer += key
      }
    }
    stdin.on('data', onData)
  })
}

export async function createUserCommand (io: CommandIo): Promise<void> {
  const { values } = parseArgs({
    args: io.args,
    options: { email: { type: 'string' }, name: { type: 'string' }, admin: { type: 'boolean', default: false } }
  })
  if (values.email === undefined) throw new CommandFailure('--email is required')
  const email = values.email
  const password = io.stdin.isTTY === true ? await promptHidden(io, 'password: ') : (await readInput(io)).split(/\r?\n/)[0] ?? ''
  if (password.length < 8 || password.length > 128) throw new CommandFailure('the password must be 8–128 characters')

  const config = loadConfig(io.env)
  const connection = await connectDatabase(config.database)
  try {
    await connection.migrate()
    // The operator at the machine: the CLI acts as the system, under the same rules as every caller.
    const user = await createUser(operatorDomain(connection.db, config), SYSTEM, {
      email,
      name: values.name ?? email.split('@')[0]!,
      password,
      role: values.admin ? 'admin' : 'user'
    })
    io.stdout.write(`created ${user.role} ${user.email} (${user.id})\n`)
  } finally {
    await connection.close()
  }
}

if (import.meta.main) await runAsMain('user:create', createUserCommand)
