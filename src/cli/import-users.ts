/**
 * npm run users:import -- FILE
 * Imports the users of an NDJSON file (one user a line, as POST /v1/users/import takes
 * them), for an operator who has a file and no HTTP client. 10,000 users a transaction;
 * a progress line on a terminal, a summary and every line not created at the end.
 */
import { createReadStream } from 'node:fs'
import { parseArgs } from 'node:util'
import { SYSTEM } from '../access/actor.ts'
import { operatorDomain } from './operator-domain.ts'
import { loadConfig } from '../config.ts'
import { connectDatabase } from '../db/connect.ts'
import { importUsers, MAX_IMPORTED_USERS, type ImportLine, type ImportResult } from '../transfer/import.ts'
import { ndjsonLines } from '../transfer/lines.ts'
import { CommandFailure, runAsMain, type CommandIo } from './command.ts'

/** The next `size` lines of a shared iterator: one transaction's worth. */
async function * take (lines: AsyncIterator<ImportLine>, size: number, done: { value: boolean }): AsyncGenerator<ImportLine> {
  for (let taken = 0; taken < size; taken++) {
    const next = await lines.next()
    if (next.done === true) {
      done.value = true
      return
    }
    yield next.value
  }
}

function describe (result: ImportResult, offset: number): string {
  const errors = (result.errors ?? []).map((error) => `${error.pointer === '' ? '(line)' : error.pointer} ${error.detail}`).join('; ')
  return `line ${offset + result.index + 1}${result.email === undefined ? '' : ` (${result.email})`}: ${result.status}: ${errors}\n`
}

export async function importUsersCommand (io: CommandIo): Promise<void> {
  const { positionals } = parseArgs({ args: io.args, allowPositionals: true, options: {} })
  const [file] = positionals
  if (file === undefined || positionals.length > 1) throw new CommandFailure('give one NDJSON file: npm run users:import -- users.ndjson')
  const stream = createReadStream(file)
  const opened = new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject))
  await opened.catch((error: NodeJS.ErrnoException) => { throw new CommandFailure(`cannot read ${file}: ${error.code ?? error.message}`) })
  const progress = io.stderr as { isTTY?: boolean }
  const config = loadConfig(io.env)
  const connection = await connectDatabase(config.database)
  const totals = { created: 0, skipped: 0, failed: 0 }
  const notCreated: string[] = []
  try {
    await connection.migrate()
    const lines = ndjsonLines(stream)[Symbol.asyncIterator]()
    const done = { value: false }
    for (let offset = 0; !done.value; offset += MAX_IMPORTED_USERS) {
      // The operator at the machine: the CLI acts as the system, under the same rules as every caller.
      const summary = await importUsers(operatorDomain(connection.db, config), SYSTEM, take(lines, MAX_IMPORTED_USERS, done))
      totals.created += summary.created
      totals.skipped += summary.skipped
      totals.failed += summary.failed
      for (const result of summary.results) if (result.status !== 'created') notCreated.push(describe(result, offset))
      if (progress.isTTY === true) io.stderr.write(`\rusers:import: ${offset + summary.results.length} lines read, ${totals.created} created`)
    }
  } finally {
    await connection.close()
  }
  if (progress.isTTY === true) io.stderr.write('\n')
  for (const line of notCreated) io.stderr.write(line)
  io.stdout.write(`users:import: ${totals.created} created, ${totals.skipped} skipped, ${totals.failed} failed\n`)
}

if (import.meta.main) await runAsMain('users:import', importUsersCommand)
