import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGLITE_TEMPLATE_VARIABLE } from './databases.ts'
import { cheapHashingUnlessProduction } from './hashing.ts'

/**
 * Node arguments that run one of our TypeScript entry points in a child process
 * as tap runs this test file: with Node's own type stripping, which keeps every
 * offset of the source. Coverage from children is merged with the tests' coverage
 * by file: a transpiler (tsx) would give the same file other offsets, and the merge
 * then drops or garbles that file's coverage.
 */
export function typescriptEntry (entry: string, ...args: string[]): string[] {
  return [...process.execArgv, entry, ...args]
}

/**
 * Environment for a tool that loads our sources through its own transpiler
 * (drizzle-kit reads the schema): its coverage of them must not be recorded.
 */
export function withoutCoverage (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
}

const CONNECTION_ACCEPTED = 'test: connection accepted'
const REQUEST_STARTED = 'test: request started'

/**
 * Loaded into a server before its entry point: a line on stderr (synchronous on a pipe) for
 * every connection it accepts and every request it begins, so a test waits for them instead
 * of sleeping for long enough.
 */
const ANNOUNCE_SERVER_EVENTS = 'data:text/javascript,' + encodeURIComponent([
  "import { subscribe } from 'node:diagnostics_channel'",
  `subscribe('net.server.socket', () => process.stderr.write('${CONNECTION_ACCEPTED}\\n'))`,
  `subscribe('http.server.request.start', () => process.stderr.write('${REQUEST_STARTED}\\n'))`
].join(';'))

export interface SpawnedServer {
  url: Promise<string>
  /** Its exit code (null when killed) and everything it wrote. */
  exited: Promise<{ code: number | null, log: string }>
  signal (name: NodeJS.Signals): void
  /** What it has written so far. */
  log (): string
  /** Connections it has accepted. */
  connectionsAccepted (): number
  /** Requests whose head it has read: in flight from then on. */
  requestsStarted (): number
}

/** A copy of the suite's migrated PGlite template for one child, removed when it exits; else a new in-memory database. */
function childDataDir (): { path: string, remove: () => void } {
  const template = process.env[PGLITE_TEMPLATE_VARIABLE]
  if (template === undefined) return { path: 'memory://', remove: () => {} }
  const path = mkdtempSync(join(tmpdir(), 'users-service-pglite-'))
  cpSync(template, path, { recursive: true })
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** `src/server.ts` in a child process, on a loopback port, with a database of its own. */
export function spawnServer (env: Record<string, string> = {}): SpawnedServer {
  const dataDir = childDataDir()
  const child = spawn(process.execPath, ['--import', ANNOUNCE_SERVER_EVENTS, ...typescriptEntry('src/server.ts')], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', PGLITE_DATA_DIR: dataDir.path, RATE_LIMIT_ENABLED: 'false', PRESSURE_MAX_EVENT_LOOP_UTILIZATION: '0', ...cheapHashingUnlessProduction(env), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.once('exit', dataDir.remove)
  let log = ''
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log)
      if (match !== null) resolve(match[1]!)
    })
    child.once('exit', () => reject(new Error('exited before listening')))
  })
  child.stderr.on('data', (chunk: Buffer) => { log += chunk.toString() })
  const count = (line: string) => log.split(line).length - 1
  return {
    url,
    exited: new Promise((resolve) => child.once('close', (code) => resolve({ code, log }))),
    signal: (name) => child.kill(name),
    log: () => log,
    connectionsAccepted: () => count(CONNECTION_ACCEPTED),
    requestsStarted: () => count(REQUEST_STARTED)
  }
}
