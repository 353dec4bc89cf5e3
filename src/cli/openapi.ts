import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildApp } from '../app.ts'
import { loadConfig } from '../config.ts'
import { projectRoot } from '../runtime/project-root.ts'

// Writes openapi.json at the repository root from the route schemas.
const app = buildApp(loadConfig({ PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'warn' }))
await app.ready()
await writeFile(join(projectRoot, 'openapi.json'), `${JSON.stringify(app.swagger(), null, 2)}\n`)
await app.close()
