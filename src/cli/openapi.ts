import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildApp } from '../app.js'
import { loadConfig } from '../config.js'
import { projectRoot } from '../runtime/project-root.js'

// Writes openapi.json at the repository root from the route schemas.
const app = buildApp(loadConfig({ PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'warn' }))
await app.ready()
await writeFile(join(projectRoot, 'openapi.json'), `${JSON.stringify(app.swagger(), null, 2)}\n`)
await app.close()
