import bcrypt from 'bcryptjs'
import type { RunningServer } from '../lib/servers.ts'

export interface TransferFigures {
  importedUsers: number
  importUsersPerSecond: number
  importPeakRssMb: number
  exportedUsers: number
  exportUsersPerSecond: number
  exportPeakRssMb: number
  /** Imported users found in the export with the email, name and created_at they were sent with. */
  comparedEqual: number
  comparedDifferent: number
}

interface ExportedUser { email: string, name: string, created_at: string }

/** Reads the whole export again (untimed) and compares each imported user with what was sent. */
async function compareExport (server: RunningServer, token: string, sent: Map<string, { name: string, createdAt: string }>): Promise<{ equal: number, different: number }> {
  const response = await fetch(`${server.url}/v1/users/export`, { headers: { authorization: `Bearer ${token}` } })
  if (!response.ok || response.body === null) throw new Error(`export answered ${response.status}`)
  let equal = 0
  let rest = ''
  const decoder = new TextDecoder()
  const reader = response.body.getReader()
  for (let read = await reader.read(); read.done !== true; read = await reader.read()) {
    const lines = (rest + decoder.decode(read.value, { stream: true })).split('\n')
    rest = lines.pop()!
    for (const line of lines.filter(Boolean)) {
      const user = JSON.parse(line) as ExportedUser
      const expected = sent.get(user.email)
      if (expected === undefined) continue
      if (user.name === expected.name && new Date(user.created_at).getTime() === new Date(expected.createdAt).getTime()) equal += 1
    }
  }
  return { equal, different: sent.size - equal }
}

async function sampled<T> (server: RunningServer, work: () => Promise<T>): Promise<{ result: T, seconds: number, peakRssMb: number }> {
  let peak = server.rss()
  const sampler = setInterval(() => { peak = Math.max(peak, server.rss()) }, 100)
  const started = performance.now()
  try {
    const result = await work()
    return { result, seconds: (performance.now() - started) / 1000, peakRssMb: peak / 1024 ** 2 }
  } finally {
    clearInterval(sampler)
  }
}

/**
 * Import: `users` new users with bcrypt hashes (made by bcryptjs, as a Rails export has
 * them; one hash for all, since an import verifies none), as NDJSON requests of 10,000,
 * one after the other. Export: every user of the database, streamed, read to the end.
 */
export async function transfer (server: RunningServer, token: string, users: number): Promise<TransferFigures> {
  const hash = bcrypt.hashSync('imported password', 10)
  const run = Date.now()
  const sent = new Map<string, { name: string, createdAt: string }>()
  const bodies = Array.from({ length: Math.ceil(users / 10_000) }, (_, chunk) =>
    Array.from({ length: Math.min(10_000, users - chunk * 10_000) }, (_, index) => {
      const number = chunk * 10_000 + index
      const user = { email: `imported.${run}.${number}@bench.example`, name: `Imported ${number}`, createdAt: new Date(Date.UTC(2020, 0, 1) + number * 1000).toISOString() }
      sent.set(user.email, user)
      return JSON.stringify({ email: user.email, name: user.name, password_hash: hash, created_at: user.createdAt })
    }).join('\n'))
  const imported = await sampled(server, async () => {
    let created = 0
    for (const body of bodies) {
      const response = await fetch(`${server.url}/v1/users/import`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body })
      if (!response.ok) throw new Error(`import answered ${response.status}: ${await response.text()}`)
      created += ((await response.json()) as { created: number }).created
    }
    return created
  })
  const exported = await sampled(server, async () => {
    const response = await fetch(`${server.url}/v1/users/export`, { headers: { authorization: `Bearer ${token}` } })
    if (!response.ok || response.body === null) throw new Error(`export answered ${response.status}`)
    let lines = 0
    const reader = response.body.getReader()
    for (let read = await reader.read(); read.done !== true; read = await reader.read()) lines += read.value.reduce((count, byte) => count + (byte === 0x0a ? 1 : 0), 0)
    return lines
  })
  const compared = await compareExport(server, token, sent)
  return {
    comparedEqual: compared.equal,
    comparedDifferent: compared.different,
    importedUsers: imported.result,
    importUsersPerSecond: imported.result / imported.seconds,
    importPeakRssMb: imported.peakRssMb,
    exportedUsers: exported.result,
    exportUsersPerSecond: exported.result / exported.seconds,
    exportPeakRssMb: exported.peakRssMb
  }
}
