import { loadConfig } from '../config.ts'
import { connectDatabase } from '../db/connect.ts'
import { runAsMain, type CommandIo } from './command.ts'

/** Applies the committed migrations and exits: for a deploy step that runs before the replicas start. */
export async function migrateCommand (io: CommandIo): Promise<void> {
  const connection = await connectDatabase(loadConfig(io.env).database)
  try {
    await connection.migrate()
    io.stdout.write(`migrations applied (${connection.driver})\n`)
  } finally {
    await connection.close()
  }
}

if (import.meta.main) await runAsMain('db:migrate', migrateCommand)
