import { generateSync } from 'otplib'
import postgres from 'postgres'
import type { RunningServer } from '../lib/servers.ts'
import { SEED_PASSWORD } from '../seed.ts'

const TOTP_STEP_SECONDS = 30

interface Person { id: string, email: string }

export interface LoginFigures {
  logins: number
  failed: number
  perSecond: number
  /** The server's CPU time per completed login (both steps of an MFA login together). */
  cpuMicrosPerLogin: number
}

/** Seeded users (role user) past the first `skip`, for logins. */
export async function seededPeople (databaseUrl: string, count: number, skip: number): Promise<Person[]> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    return await sql<Person[]>`select id, email from users where role = 'user' order by id offset ${skip} limit ${count}`
  } finally {
    await sql.end()
  }
}

async function post (url: string, body: unknown, token?: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) })
  return { status: response.status, body: await response.json() as Record<string, unknown> }
}

function codeAt (secret: string, step: number): string {
  return generateSync({ secret, epoch: step * TOTP_STEP_SECONDS })
}

/** Each person enrols an authenticator app through the API (log in, enrol, confirm): what the MFA logins then use. */
export async function enrolAuthenticators (server: RunningServer, people: Person[]): Promise<Array<Person & { secret: string, lastStep: number }>> {
  const enrolled: Array<Person & { secret: string, lastStep: number }> = []
  for (const person of people) {
    const login = await post(`${server.url}/v1/auth/token`, { email: person.email, password: SEED_PASSWORD })
    const token = login.body.access_token as string
    const enrolment = await post(`${server.url}/v1/users/${person.id}/factors/totp`, { name: 'bench' }, token)
    // Confirmed with the code of the step before now (one step either side is accepted), which leaves now's and the next for logins.
    const step = Math.floor(Date.now() / 1000 / TOTP_STEP_SECONDS) - 1
    const secret = enrolment.body.secret as string
    const confirmed = await post(`${server.url}/v1/users/${person.id}/factors/${enrolment.body.id as string}/confirm`, { code: codeAt(secret, step) }, token)
    if (confirmed.status !== 201 && confirmed.status !== 200) throw new Error(`enrolment of ${person.email}: ${confirmed.status} ${JSON.stringify(confirmed.body)}`)
    enrolled.push({ ...person, secret, lastStep: step })
  }
  return enrolled
}

/**
 * Logins for `seconds` with `concurrency` at a time, each person in turn: the password
 * step alone, or (given their secrets) the password step and then a TOTP code. A code
 * is accepted once per factor and time step, within a step either side of now: a person
 * whose next step is not yet allowed sits the round out.
 */
export async function measureLogins (server: RunningServer, people: Array<Person & { secret?: string, lastStep?: number }>, seconds: number, concurrency: number): Promise<LoginFigures> {
  let next = 0
  let logins = 0
  let failed = 0
  const deadline = Date.now() + seconds * 1000
  const cpuBefore = server.cpuSeconds()
  const started = performance.now()
  async function worker (): Promise<void> {
    while (Date.now() < deadline) {
      const person = people[next++ % people.length]!
      let code: string | undefined
      if (person.secret !== undefined) {
        const now = Math.floor(Date.now() / 1000 / TOTP_STEP_SECONDS)
        const step = Math.max(person.lastStep! + 1, now - 1)
        if (step > now + 1) {
          if (people.every((other) => other.lastStep! >= now + 1)) await new Promise((resolve) => setTimeout(resolve, 100))
          continue
        }
        person.lastStep = step
        code = codeAt(person.secret, step)
      }
      const first = await post(`${server.url}/v1/auth/token`, { email: person.email, password: SEED_PASSWORD })
      const done = code === undefined ? first : await post(`${server.url}/v1/auth/mfa`, { mfa_token: first.body.mfa_token, code })
      if (done.status === 200) logins += 1
      else failed += 1
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsed = (performance.now() - started) / 1000
  return { logins, failed, perSecond: logins / elapsed, cpuMicrosPerLogin: ((server.cpuSeconds() - cpuBefore) * 1e6) / Math.max(logins, 1) }
}
