import { loadConfig } from '../config.ts'
import { connectDatabase } from '../db/connect.ts'

// Applies the committed migrations and exits: for a deploy step that runs before the replicas start.
const connection = await connectDatabase(loadConfig().database)
try {
  await connection.migrate()
  process.stdout.write(`migrations applied (${connection.driver})\n`)
} finally {
  await connection.close()
}
