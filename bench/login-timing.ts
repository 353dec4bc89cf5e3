/**
 * Whether a failed login takes as long for an unknown email as for a wrong password, so that
 * the time does not tell whether an account exists, and as long against an imported hash
 * (bcrypt, scrypt, PBKDF2, Django's PBKDF2, each at a parameter its producer uses) as
 * against this service's argon2id, so that it does not tell a migrated account either (the
 * answers themselves are compared by test/auth.test.ts; `npm test` asserts no durations). The app is built in this process
 * from configuration, on an in-memory PGlite with a bootstrap account, and driven over
 * loopback HTTP, one request at a time: the two kinds take turns (the order alternating
 * each round), after a warm-up that is thrown away. Prints the medians and their ratio;
 * figures are measured, never asserted.
 *   npm run bench:login-timing -- [--rounds 50] [--warmup 5]
 */
import { pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto'
import { parseArgs } from 'node:util'
import bcrypt from 'bcryptjs'
import { startInProcess } from './lib/app.ts'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '50' }, warmup: { type: 'string', default: '5' } } })
const rounds = Number(values.rounds)
const warmup = Number(values.warmup)

const ACCOUNT = { email: 'known@bench.example', password: 'bench password 1' }

interface Attempt { ms: number, status: number }

const IMPORTED_PASSWORD = 'imported password 1'
const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '')
const salt = randomBytes(16)
// Hashes as their producers make them by default: Rails (bcrypt 12), Kratos' scrypt (ln=15),
// OWASP's PBKDF2-SHA256 (600,000) and Django 5's (870,000).
const IMPORTED: Record<string, string> = {
  'bcrypt cost 12': bcrypt.hashSync(IMPORTED_PASSWORD, 12),
  'scrypt ln=15 r=8': `$scrypt$ln=15,r=8,p=1$${b64(salt)}$${b64(scryptSync(IMPORTED_PASSWORD, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 ** 2 }))}`,
  'PBKDF2-SHA256 600,000': `$pbkdf2-sha256$i=600000,l=32$${b64(salt)}$${b64(pbkdf2Sync(IMPORTED_PASSWORD, salt, 600_000, 32, 'sha256'))}`,
  'Django pbkdf2_sha256 870,000': `pbkdf2_sha256$870000$${salt.toString('hex')}$${pbkdf2Sync(IMPORTED_PASSWORD, salt.toString('hex'), 870_000, 32, 'sha256').toString('base64')}`
}
const KINDS = ['unknown email', 'wrong password (argon2id)', ...Object.keys(IMPORTED).map((name) => `wrong password (${name})`)]
type Kind = string

const { url, close } = await startInProcess({
  ADMIN_EMAIL: ACCOUNT.email,
  ADMIN_PASSWORD: ACCOUNT.password,
  // As shipped, with limits above what this sends.
  RATE_LIMIT_MAX: '1000000000',
  AUTH_RATE_LIMIT_MAX: '1000000000',
  // Every wrong password here is for one account: without this, the failed-login delay answers 429s.
  LOGIN_MAX_FAILURES: '1000'
})

// Each imported kind is one account, brought in through the import endpoint as a migration would.
const importedEmail = (name: string) => `imported-${Object.keys(IMPORTED).indexOf(name)}@bench.example`
const adminToken = ((await (await fetch(`${url}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ACCOUNT) })).json()) as { access_token: string }).access_token
const imported = await fetch(`${url}/v1/users/import`, {
  method: 'POST',
  headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/x-ndjson' },
  body: Object.entries(IMPORTED).map(([name, hash]) => JSON.stringify({ email: importedEmail(name), name, password_hash: hash })).join('\n')
})
if (((await imported.json()) as { created: number }).created !== Object.keys(IMPORTED).length) throw new Error('the imported accounts were not created')

let unknownCounter = 0
function credentials (kind: Kind): { email: string, password: string } {
  if (kind === 'wrong password (argon2id)') return { email: ACCOUNT.email, password: 'not the password' }
  const importedKind = /^wrong password \((.+)\)$/.exec(kind)?.[1]
  if (importedKind !== undefined) return { email: importedEmail(importedKind), password: 'not the password' }
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

const attempts = new Map<Kind, Attempt[]>(KINDS.map((kind) => [kind, []]))
try {
  for (let round = 0; round < warmup + rounds; round += 1) {
    // The order turns each round, so no kind always follows the same one.
    const order = KINDS.map((_, index) => KINDS[(index + round) % KINDS.length]!)
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
const [unknown, wrong, ...foreign] = rows as [typeof rows[0], typeof rows[0], ...Array<typeof rows[0]>]
console.log(`\nmedian unknown email / median wrong password (argon2id): ${(unknown.p50 / wrong.p50).toFixed(2)}`)
for (const row of foreign) console.log(`median ${row.kind} / median wrong password (argon2id): ${(row.p50 / wrong.p50).toFixed(2)}`)
// A figure measured on other answers than the 401 (429s, 503s) says nothing about the login.
const unexpected = rows.filter((row) => Object.keys(row.statuses).some((status) => status !== '401'))
if (unexpected.length > 0) {
  console.error(`\nnot comparable: ${unexpected.map((row) => row.kind).join(', ')} answered other than 401`)
  process.exitCode = 1
}
