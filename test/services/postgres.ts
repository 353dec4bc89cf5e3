import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { freePort } from './ports.ts'

/** Where the PostgreSQL server binaries are: PG_BIN, else the newest Debian install. */
function postgresBinDir (): string {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : []
  if (versions[0] === undefined) throw new Error(`no PostgreSQL under ${root}; install Debian's postgresql package or set PG_BIN`)
  return join(root, versions[0], 'bin')
}

// initdb and postgres refuse to run as root, so as root they run as the postgres user.
function asServiceUser (command: string, args: string[]): [string, string[]] {
  return userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]
}

export interface PostgresServer {
  /** Superuser URL of the `postgres` database. */
  url: string
  port: number
  stop (): Promise<void>
  /** Starts the same cluster again on the same port, after stop(). */
  start (): Promise<void>
  /** Stops the server and deletes its files. */
  destroy (): Promise<void>
  /**
   * SIGSTOPs the postmaster and every backend, as a hung host or a stalled volume would
   * leave them: connections stay open and nothing answers. Resolves to a function that thaws them.
   */
  freeze (): () => void
}

async function waitUntilAccepting (url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited with code ${child.exitCode}`)
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} })
    try {
      await sql`select 1`
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    } finally {
      await sql.end({ timeout: 1 })
    }
  }
}

/** A throw-away cluster on a loopback port, tuned for tests (no fsync). */
export async function startPostgres (): Promise<PostgresServer> {
  const bin = postgresBinDir()
  const directory = mkdtempSync(join(tmpdir(), 'users-service-pg-'))
  if (userInfo().uid === 0) chownSync(directory, Number(spawnSync('id', ['-u', 'postgres']).stdout), Number(spawnSync('id', ['-g', 'postgres']).stdout))
  const dataDir = join(directory, 'data')
  const [initdb, initdbArgs] = asServiceUser(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'])
  const init = spawnSync(initdb, initdbArgs, { encoding: 'utf8' })
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error?.message}`)

  const port = await freePort()
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  let child: ChildProcess | undefined

  async function start (): Promise<void> {
    const [command, args] = asServiceUser(join(bin, 'postgres'), [
      '-D', dataDir, '-p', String(port), '-k', directory, '-c', 'listen_addresses=127.0.0.1',
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'
    ])
    const server = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    child = server
    let log = ''
    server.stderr?.on('data', (chunk: Buffer) => { log = (log + chunk.toString()).slice(-4000) })
    try {
      await waitUntilAccepting(url, server, 30_000)
    } catch (error) {
      server.kill('SIGKILL')
      throw new Error(`postgres did not start: ${(error as Error).message}\n${log}`)
    }
  }

  async function stop (): Promise<void> {
    const server = child
    if (server === undefined || server.exitCode !== null) return
    const exited = new Promise((resolve) => server.once('exit', resolve))
    // A signal to runuser does not reach postgres; pg_ctl stops it by its pid file.
    // Fast mode disconnects clients instead of waiting for them.
    const [command, args] = asServiceUser(join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'])
    const stopped = spawnSync(command, args, { encoding: 'utf8' })
    if (stopped.status !== 0) server.kill('SIGKILL')
    await exited
  }

  function freeze (): () => void {
    const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
    const backends = spawnSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number)
    const frozen = [postmaster, ...backends]
    for (const pid of frozen) process.kill(pid, 'SIGSTOP')
    // runuser stops itself when its child stops (job control): it must be continued too.
    const wrapper = child?.pid !== undefined && child.pid !== postmaster ? [child.pid] : []
    return () => {
      for (const pid of [...frozen, ...wrapper]) {
        try {
          process.kill(pid, 'SIGCONT')
        } catch {
          // Gone meanwhile: nothing to thaw.
        }
      }
    }
  }

  await start()
  return {
    url,
    port,
    start,
    stop,
    freeze,
    async destroy () {
      await stop()
      rmSync(directory, { recursive: true, force: true })
    }
  }
}
