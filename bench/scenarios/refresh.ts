import { connectDatabase } from '../../src/db/connect.ts'
import { SYSTEM } from '../../src/access/actor.ts'
import { benchDomain } from '../lib/domain.ts'
import { startSession } from '../../src/identity/sessions.ts'
import type { LoadOptions } from '../lib/load.ts'

/**
 * Refresh-token rotation: each request spends a live refresh token and gets the next
 * one. A spent token presented again would end its session (reuse detection), so the
 * live tokens are a pool: a request takes one, its answer puts the successor back.
 * Sessions are started up front, twice as many as connections.
 */
export async function refreshRotation (databaseUrl: string, userIds: string[], load: LoadOptions): Promise<LoadOptions> {
  const connection = await connectDatabase({ url: databaseUrl, pgliteDataDir: 'memory://', poolMax: 4 })
  const live: string[] = []
  try {
    for (let index = 0; index < 2 * load.connections; index += 1) {
      const grant = await startSession(benchDomain(connection.db), SYSTEM, { principal: { id: userIds[index % userIds.length]!, role: 'user' } }, { ttlSeconds: 86_400, userAgent: 'bench' })
      live.push(grant.refreshToken)
    }
  } finally {
    await connection.close()
  }
  return {
    ...load,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    request: {
      setupRequest: (request) => ({ ...request, body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: live.shift() }) }),
      onResponse: (status, body) => {
        if (status === 200) live.push((JSON.parse(body) as { refresh_token: string }).refresh_token)
      }
    }
  }
}
