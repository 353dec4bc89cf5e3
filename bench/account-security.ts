/**
 * The failed-login delay, the mail retries and the reset request's timing, measured in
 * real time against the service built in this process (in-memory PGlite, defaults as
 * shipped: LOGIN_MAX_FAILURES=5, mail retried from 5 s) with a real SMTP server on
 * loopback. Prints what happened when; figures are measured, never asserted.
 *   npm run bench:account-security -- [--outage 8] [--rounds 100]
 */
import { parseArgs } from 'node:util'
import { sql } from 'drizzle-orm'
import { startSmtpServer } from '../test/services/smtp.ts'
import { startInProcess } from './lib/app.ts'

const { values } = parseArgs({ options: { outage: { type: 'string', default: '8' }, rounds: { type: 'string', default: '100' } } })
const outageSeconds = Number(values.outage)
const rounds = Number(values.rounds)
const ACCOUNT = { email: 'known@bench.example', password: 'bench password 1' }

const smtp = await startSmtpServer()
const { app, url, close } = await startInProcess({
  ADMIN_EMAIL: ACCOUNT.email,
  ADMIN_PASSWORD: ACCOUNT.password,
  SMTP_URL: smtp.url,
  RATE_LIMIT_MAX: '1000000000',
  AUTH_RATE_LIMIT_MAX: '1000000000'
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1)

async function post (path: string, body: unknown): Promise<Response> {
  return fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

async function failedLogins (email: string): Promise<void> {
  console.log(`\n### Failed logins for ${email}: wrong passwords, each sent as soon as allowed, then the right one\n`)
  console.log('| attempt | at s | status | Retry-After |')
  console.log('|---|---|---|---|')
  const started = performance.now()
  for (let attempt = 1; attempt <= 10; attempt += 1) {
    const password = attempt === 10 ? ACCOUNT.password : 'not the password'
    let response = await post('/v1/auth/token', { email, password })
    console.log(`| ${attempt}${attempt === 10 ? ' (right password)' : ''} | ${seconds(started)} | ${response.status} | ${response.headers.get('retry-after') ?? ''} |`)
    while (response.status === 429) {
      await sleep(Number(response.headers.get('retry-after')) * 1000)
      response = await post('/v1/auth/token', { email, password })
      console.log(`| ${attempt} (after the wait) | ${seconds(started)} | ${response.status} | ${response.headers.get('retry-after') ?? ''} |`)
    }
  }
}

async function mailThroughAnOutage (): Promise<void> {
  console.log(`\n### A reset mail while the SMTP server is down for ${outageSeconds} s\n`)
  await smtp.stop()
  const started = performance.now()
  const asked = await post('/v1/auth/password-reset', { email: ACCOUNT.email })
  console.log(`- the request answered ${asked.status} after ${(performance.now() - started).toFixed(0)} ms, with the mail server down`)
  const restart = sleep(outageSeconds * 1000).then(async () => {
    await smtp.start()
    console.log(`- ${seconds(started)} s: the SMTP server is back`)
  })
  let attempts = 0
  while (smtp.mailsTo(ACCOUNT.email).length === 0) {
    const result = await app.db.execute(sql`select attempts from deliveries where channel = 'mail'`)
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ attempts: number }>
    const now = rows[0]?.attempts ?? attempts
    if (now !== attempts) console.log(`- ${seconds(started)} s: attempt ${now}`)
    attempts = now
    await sleep(50)
  }
  await restart
  console.log(`- ${seconds(started)} s: the mail arrived (${smtp.mailsTo(ACCOUNT.email).length} received)`)
}

function median (list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

async function resetRequestTiming (): Promise<void> {
  const timings: Record<string, number[]> = { 'known email': [], 'unknown email': [] }
  for (let round = 0; round < rounds; round += 1) {
    const kinds = round % 2 === 0 ? ['known email', 'unknown email'] : ['unknown email', 'known email']
    for (const kind of kinds) {
      const email = kind === 'known email' ? ACCOUNT.email : `nobody-${round}@bench.example`
      const started = performance.now()
      const response = await post('/v1/auth/password-reset', { email })
      await response.arrayBuffer()
      timings[kind]!.push(performance.now() - started)
    }
  }
  const [known, unknown] = [median(timings['known email']!), median(timings['unknown email']!)]
  console.log(`\n### POST /v1/auth/password-reset, ${rounds} of each, alternating\n`)
  console.log(`median known email ${known.toFixed(2)} ms, unknown email ${unknown.toFixed(2)} ms, ratio ${(unknown / known).toFixed(2)}`)
}

try {
  await failedLogins(ACCOUNT.email)
  await failedLogins('nobody-at-all@bench.example')
  await mailThroughAnOutage()
  await resetRequestTiming()
} finally {
  await close()
  await smtp.stop()
}
