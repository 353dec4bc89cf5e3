import bcrypt from 'bcryptjs'
import type { RunningServer } from '../lib/servers.ts'

export interface TransferFigures {
  importedUsers: number
  importUsersPerSecond: number
  importPeakRssMb: number
  exportedUsers: number
  exportUsersPerSecond: number
  exportPeakRssMb: number
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
  const bodies = Array.from({ length: Math.ceil(users / 10_000) }, (_, chunk) =>
    Array.from({ length: Math.min(10_000, users - chunk * 10_000) }, (_, index) =>
      JSON.stringify({ email: `imported.${run}.${chunk * 10_000 + index}@bench.example`, name: `Imported ${index}`, password_hash: hash, created_at: '2020-01-01T00:00:00Z' })).join('\n'))
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
  return {
    importedUsers: imported.result,
    importUsersPerSecond: imported.result / imported.seconds,
    importPeakRssMb: imported.peakRssMb,
    exportedUsers: exported.result,
    exportUsersPerSecond: exported.result / exported.seconds,
    exportPeakRssMb: exported.peakRssMb
  }
}
