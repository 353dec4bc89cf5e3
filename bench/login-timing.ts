/**
 * Whether a failed login takes as long for an unknown email as for a wrong password, so that
 * the time does not tell whether an account exists (the answers themselves are compared by
 * test/auth.test.ts; `npm test` asserts no durations). The app is built in this process
 * from configuration, on an in-memory PGlite with a bootstrap account, and driven over
 * loopback HTTP, one request at a time: the two kinds take turns (the order alternating
 * each round), after a warm-up that is thrown away. Prints the medians and their ratio;
 * figures are measured, never asserted.
 *   npm run bench:login-timing -- [--rounds 50] [--warmup 5]
 */
import { parseArgs } from 'node:util'
import { startInProcess } from './lib/app.ts'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '50' }, warmup: { type: 'string', default: '5' } } })
const rounds = Number(values.rounds)
const warmup = Number(values.warmup)

const ACCOUNT = { email: 'known@bench.example', password: 'bench password 1' }

interface Attempt { ms: number, status: number }
type Kind = 'unknown email' | 'wrong password'

const { url, close } = await startInProcess({
  ADMIN_EMAIL: ACCOUNT.email,
  ADMIN_PASSWORD: ACCOUNT.password,
  // As shipped, with limits above what this sends.
  RATE_LIMIT_MAX: '1000000000',
  AUTH_RATE_LIMIT_MAX: '1000000000',
  // Every wrong password here is for one account: without this, the failed-login delay answers 429s.
  LOGIN_MAX_FAILURES: '1000'
})

let unknownCounter = 0
function credentials (kind: Kind): { email: string, password: string } {
  if (kind === 'wrong password') return { email: ACCOUNT.email, password: 'not the password' }
  unknownCounter += 1
  return { email: `nobody-${unknownCounter}@bench.example`, password: 'not the password' }
}

async function login (kind: Kind): Promise<Attempt> {
  const body = JSON.stringify(credentials(kind))
  const started = performance.now()
  const response = await fetch(`${url}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  await response.arrayBuffer()
  return { ms: performance.now() - started, status: response.status }
}

function quantile (sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

const attempts = new Map<Kind, Attempt[]>([['unknown email', []], ['wrong password', []]])
try {
  for (let round = 0; round < warmup + rounds; round += 1) {
    const order: Kind[] = round % 2 === 0 ? ['unknown email', 'wrong password'] : ['wrong password', 'unknown email']
    for (const kind of order) {
      const attempt = await login(kind)
      if (round >= warmup) attempts.get(kind)!.push(attempt)
    }
  }
} finally {
  await close()
}

const rows = [...attempts].map(([kind, list]) => {
  const sorted = list.map((attempt) => attempt.ms).sort((a, b) => a - b)
  const statuses: Record<string, number> = {}
  for (const { status } of list) statuses[status] = (statuses[status] ?? 0) + 1
  return { kind, n: list.length, p10: quantile(sorted, 0.1), p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), statuses }
})

console.log(`\nPOST /v1/auth/token, failed logins, ${rounds} of each (after ${warmup} warm-up rounds), one at a time over loopback\n`)
console.log('| attempt | n | p10 ms | median ms | p90 ms | statuses |')
console.log('|---|---|---|---|---|---|')
for (const row of rows) {
  console.log(`| ${row.kind} | ${row.n} | ${row.p10.toFixed(1)} | ${row.p50.toFixed(1)} | ${row.p90.toFixed(1)} | ${JSON.stringify(row.statuses)} |`)
}
const [unknown, wrong] = rows as [typeof rows[0], typeof rows[0]]
console.log(`\nmedian unknown email / median wrong password: ${(unknown.p50 / wrong.p50).toFixed(2)}`)
// A figure measured on other answers than the 401 (429s, 503s) says nothing about the login.
const unexpected = rows.filter((row) => Object.keys(row.statuses).some((status) => status !== '401'))
if (unexpected.length > 0) {
  console.error(`\nnot comparable: ${unexpected.map((row) => row.kind).join(', ')} answered other than 401`)
  process.exitCode = 1
}
