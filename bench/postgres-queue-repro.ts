/**
 * Reproduction of the three defects of postgres.js 3.4.9 that patches/postgres+3.4.9.patch
 * fixes (write-up: patches/README.md), run against both drivers, each in a child process
 * of its own, on a throw-away PostgreSQL cluster on loopback (test/services/postgres.ts):
 *
 * 1. Throughput: `select 1` through a pool of 10 connections with many queries in flight
 *    (--inflight workers, each awaiting one query at a time) for --seconds. Unpatched, the
 *    pool's `busy` queue (src/queue.js) grows by one slot per query and Queue.remove()
 *    scans all of it on every query: queries/s falls the longer the load lasts.
 * 2. Crash: the backend of a transaction is terminated while a query of it is in flight.
 *    The driver's own ROLLBACK is then written to a connection whose socket is already
 *    null; unpatched, nextWrite() throws from a setImmediate callback and the process dies.
 *    Then three queries on the same pool (max 1, so the same connection, reconnected) show
 *    what the surviving connection is worth. Expected, patched: the transaction rejects
 *    CONNECTION_CLOSED; select 1 fails with the old backend's "terminating connection due
 *    to administrator command" (upstream behaviour, not the patch's: closed() keeps the
 *    stale error); select 2 and 3 answer. A guard that only drops the write (the patch's
 *    first version) leaves the ROLLBACK in the connection's `sent` queue and select 2 hangs
 *    (patches/README.md discusses the outcome).
 * 3. Order: in a transaction, a prepared statement the server no longer knows (26000,
 *    here after DEALLOCATE ALL) fails while the COMMIT is already pipelined behind it.
 *    Unpatched, the driver retries the statement behind the COMMIT, and the connection
 *    hangs. Expected, patched: the statement fails, the COMMIT rolls back, and the pool
 *    answers again.
 *
 * Drivers: "patched" is the installed node_modules/postgres (patch-package applied it on
 * postinstall). "original" is the pristine postgres@3.4.9 tarball: `npm pack` fetches it
 * (from the npm cache, else the registry) into a temporary directory, its integrity is
 * checked against package-lock.json, and tar extracts it there; node_modules is not
 * touched. postgres has no dependencies, so the extracted copy imports as it is.
 * Needs npm, tar and the PostgreSQL server binaries (PG_BIN, else /usr/lib/postgresql).
 * Figures are measured, never asserted; the exit code is 0 unless the harness fails.
 *   npm run bench:postgres-queue -- [--seconds 4] [--inflight 400] [--rounds 1]
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type postgresType from 'postgres'
import { startPostgres } from '../test/services/postgres.ts'

const VERSION = '3.4.9'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    inflight: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '1' },
    // Internal: what a child process runs.
    child: { type: 'string' },
    driver: { type: 'string' },
    url: { type: 'string' }
  }
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Throughput { queries: number, seconds: number, perSecond: number[] }
interface Survival { transaction: string, afterwards: string }
interface RetryOrder { transaction: string, statement: string, afterwards: string }

async function loadDriver (url: string): Promise<typeof postgresType> {
  return ((await import(url)) as { default: typeof postgresType }).default
}

/** Child, part 1: queries/s of `select 1` with `inflight` queries outstanding on a pool of 10. */
async function throughputChild (driver: string, url: string, seconds: number, inflight: number): Promise<void> {
  const postgres = await loadDriver(driver)
  const sql = postgres(url, { max: 10, onnotice: () => {} })
  let done = 0
  const load = { running: true }
  const perSecond: number[] = []
  const started = performance.now()
  let mark = { at: started, done: 0 }
  // Counted from the first query (connecting included): the original slows from the start.
  const finished = new Promise<{ queries: number, seconds: number }>((resolve) => {
    const sampler = setInterval(() => {
      const now = performance.now()
      perSecond.push(Math.round((done - mark.done) * 1000 / (now - mark.at)))
      mark = { at: now, done }
      if (perSecond.length < seconds) return
      clearInterval(sampler)
      load.running = false
      resolve({ queries: done, seconds: (now - started) / 1000 })
    }, 1000)
  })
  const worker = async (): Promise<void> => {
    while (load.running) {
      await sql`select 1`
      done += 1
    }
  }
  const workers = Array.from({ length: inflight }, worker)
  const { queries, seconds: elapsed } = await finished
  await Promise.all(workers)
  await sql.end({ timeout: 1 })
  const result: Throughput = { queries, seconds: elapsed, perSecond }
  process.stdout.write(JSON.stringify(result) + '\n')
}

/** Child, part 2: terminate a transaction's backend mid-query; does this process survive it? */
async function survivalChild (driver: string, url: string): Promise<void> {
  const postgres = await loadDriver(driver)
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  const killer = postgres(url, { max: 1, onnotice: () => {} })
  let backendKnown: (pid: number) => void = () => {}
  const backend = new Promise<number>((resolve) => { backendKnown = resolve })
  const transaction = sql.begin(async (tx) => {
    const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`
    backendKnown(row!.pid)
    await tx`select pg_sleep(5)` // in flight when the backend goes
  }).then(() => 'committed', (error: { code?: string }) => `rejected ${error.code ?? String(error)}`)
  await killer`select pg_terminate_backend(${await backend})`
  const outcome = await transaction
  await sleep(200) // the driver's queued ROLLBACK write (a setImmediate) has run by now
  // The same pool again (max 1: the same connection object, reconnected), three queries one after the other.
  const afterwards: string[] = []
  for (let i = 1; i <= 3; i++) {
    const answer = await Promise.race([
      sql<{ n: number }[]>`select ${i}::int as n`.then(([row]) => `ok ${row?.n}`, (error: Error) => `failed "${error.message}"`),
      sleep(2000).then(() => 'hung (no answer in 2 s)')
    ])
    afterwards.push(answer)
    if (answer.startsWith('hung')) break
  }
  const result: Survival = { transaction: outcome, afterwards: afterwards.join(', ') }
  process.stdout.write(JSON.stringify(result) + '\n')
  await Promise.all([sql.end({ timeout: 1 }), killer.end({ timeout: 1 })])
}

/** Child, part 3: a prepared statement dropped on the server, with the COMMIT pipelined behind it. */
async function retryOrderChild (driver: string, url: string): Promise<void> {
  const postgres = await loadDriver(driver)
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  await sql`create temp table repro_retry (x int)`
  const insert = (tx: postgresType.TransactionSql): postgresType.PendingQuery<postgresType.Row[]> => tx.unsafe('insert into repro_retry values ($1)', [1], { prepare: true })
  await sql.begin(async (tx) => { await insert(tx) })
  await sql.unsafe('deallocate all')
  let statement: Promise<string> | undefined
  const transaction = await sql.begin(async (tx) => {
    statement = insert(tx).then(() => 'inserted', (error: { code?: string }) => `failed ${error.code ?? String(error)}`)
    // One turn of the event loop: the insert is written, and the COMMIT goes out right behind it.
    await new Promise((resolve) => setImmediate(resolve))
  }).then(() => 'resolved', (error: { code?: string }) => `rejected ${error.code ?? String(error)}`)
  const afterwards = await Promise.race([
    sql<{ n: string }[]>`select count(*) as n from repro_retry`.then(([row]) => `${row?.n} row(s)`, (error: Error) => `failed "${error.message}"`),
    sleep(2000).then(() => 'hung (no answer in 2 s)')
  ])
  const result: RetryOrder = { transaction, statement: await Promise.race([statement!, sleep(100).then(() => 'unsettled')]), afterwards }
  process.stdout.write(JSON.stringify(result) + '\n')
  await sql.end({ timeout: 1 })
}

interface ChildResult { code: number | null, stdout: string, stderr: string }

function runChild (args: string[]): Promise<ChildResult> {
  const script = fileURLToPath(import.meta.url)
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}

/** The pristine tarball, checked against the lock file, extracted into `directory`: the URL of its ESM entry. */
function originalDriver (directory: string): string {
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { version: string, integrity: string }> }
  const locked = lock.packages['node_modules/postgres']
  if (locked?.version !== VERSION) throw new Error(`package-lock.json has postgres ${locked?.version}, this reproduction is for ${VERSION}`)
  const [packed] = JSON.parse(execFileSync('npm', ['pack', `postgres@${VERSION}`, '--json', '--pack-destination', directory], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { filename: string, integrity: string }[]
  if (packed === undefined || packed.integrity !== locked.integrity) throw new Error(`npm pack postgres@${VERSION}: integrity ${packed?.integrity} is not the lock file's ${locked.integrity}`)
  execFileSync('tar', ['-xzf', join(directory, packed.filename), '-C', directory])
  return pathToFileURL(join(directory, 'package', 'src', 'index.js')).href
}

/** Which fixes a copy of the driver carries, by the markers patches/README.md names. */
function markers (driverUrl: string): string {
  const source = fileURLToPath(new URL('.', driverUrl))
  const queue = readFileSync(join(source, 'queue.js'), 'utf8').includes('1024')
  const connection = readFileSync(join(source, 'connection.js'), 'utf8')
  // The guard settles the dropped write's queries (current patch) or only drops it (first version).
  const guard = !connection.includes('socket === null') ? 'no' : /if \(socket === null\) \{[^}]*queryError/.test(connection) ? 'yes (settles)' : 'yes (drops only)'
  return `queue fix ${queue ? 'yes' : 'no'}, nextWrite guard ${guard}, retry in order ${connection.includes('sent.length // a retry') ? 'yes' : 'no'}`
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

async function main (): Promise<void> {
  const seconds = Number(values.seconds)
  const inflight = Number(values.inflight)
  const rounds = Number(values.rounds)
  const scratch = mkdtempSync(join(tmpdir(), 'postgres-queue-repro-'))
  const server = await startPostgres()
  try {
    const drivers = [
      { name: `original ${VERSION} (npm)`, url: originalDriver(scratch) },
      { name: `patched ${VERSION} (installed)`, url: import.meta.resolve('postgres') }
    ]
    console.log(`node ${process.version}, ${cpus().length} CPUs, PostgreSQL on loopback; pool max 10, ${inflight} queries in flight, ${seconds} s per run, ${rounds} round(s)`)
    for (const driver of drivers) console.log(`  ${driver.name}: ${markers(driver.url)}`)

    console.log('\n1. Throughput, select 1 (queries/s; per second in brackets)')
    const totals = new Map<string, { queries: number, seconds: number, series: string[] }>(drivers.map((d) => [d.name, { queries: 0, seconds: 0, series: [] }]))
    for (let round = 0; round < rounds; round++) {
      // Alternate the order between rounds so neither driver always runs on a fresher cluster.
      const order = round % 2 === 0 ? drivers : [...drivers].reverse()
      for (const driver of order) {
        const run = await runChild(['--child', 'throughput', '--driver', driver.url, '--url', server.url, '--seconds', String(seconds), '--inflight', String(inflight)])
        if (run.code !== 0) throw new Error(`${driver.name} throughput run exited ${run.code}: ${run.stderr}`)
        const result = JSON.parse(run.stdout) as Throughput
        const total = totals.get(driver.name)!
        total.queries += result.queries
        total.seconds += result.seconds
        total.series.push(result.perSecond.map(fmt).join(' '))
      }
    }
    const rates = drivers.map((d) => { const t = totals.get(d.name)!; return { name: d.name, rate: t.queries / t.seconds, series: t.series } })
    const base = rates[0]!.rate
    console.log(`${'driver'.padEnd(30)} ${'queries/s'.padStart(10)} ${'ratio'.padStart(6)}  per second`)
    for (const row of rates) console.log(`${row.name.padEnd(30)} ${fmt(row.rate).padStart(10)} ${(row.rate / base).toFixed(2).padStart(6)}  [${row.series.join('] [')}]`)

    console.log('\n2. Survival: a transaction\'s backend terminated (pg_terminate_backend) while its query is in flight')
    for (const driver of drivers) {
      const run = await runChild(['--child', 'survival', '--driver', driver.url, '--url', server.url])
      const uncaught = run.stderr.split('\n').find((line) => /^\w*Error\b/.test(line.trim()))?.trim()
      const at = run.stderr.split('\n').find((line) => line.includes(' at '))?.trim()
      const outcome = run.stdout.trim() === '' ? undefined : JSON.parse(run.stdout.trim().split('\n')[0]!) as Survival
      console.log(`${driver.name.padEnd(30)} exit ${run.code}: ${outcome !== undefined ? `transaction ${outcome.transaction}; then select 1..3: ${outcome.afterwards}` : 'died before reporting'}${uncaught !== undefined ? `; uncaught ${uncaught} ${at ?? ''}` : ''}`)
    }

    console.log('\n3. Order: a prepared statement dropped on the server (DEALLOCATE ALL) fails in a transaction with the COMMIT pipelined behind it')
    for (const driver of drivers) {
      const run = await runChild(['--child', 'retry-order', '--driver', driver.url, '--url', server.url])
      const outcome = run.stdout.trim() === '' ? undefined : JSON.parse(run.stdout.trim().split('\n')[0]!) as RetryOrder
      console.log(`${driver.name.padEnd(30)} exit ${run.code}: ${outcome !== undefined ? `statement ${outcome.statement}; transaction ${outcome.transaction}; then count: ${outcome.afterwards}` : `died before reporting: ${run.stderr.trim().split('\n')[0] ?? ''}`}`)
    }
  } finally {
    await server.destroy()
    rmSync(scratch, { recursive: true, force: true })
  }
}

if (values.child === 'throughput') await throughputChild(values.driver!, values.url!, Number(values.seconds), Number(values.inflight))
else if (values.child === 'survival') await survivalChild(values.driver!, values.url!)
else if (values.child === 'retry-order') await retryOrderChild(values.driver!, values.url!)
else await main()
