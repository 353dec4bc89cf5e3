import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'

/** A Redis connection that knows whether it is usable, and says so in the log once per outage. */
export interface RedisConnection {
  client: Redis
  /** False from the first failure until Redis answers again. */
  readonly healthy: boolean
  /** Commands are attempted only while connected; otherwise callers fail open at once. */
  readonly connected: boolean
  reportFailure (error: Error): void
  reportSuccess (): void
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Null when REDIS_URL is unset. */
    redis: RedisConnection | null
  }
}

export interface RedisPluginOptions {
  url: string | undefined
  /** How long start-up waits for the first connection before serving without it. */
  connectWaitMs?: number
}

function connect (app: FastifyInstance, RedisClient: typeof Redis, url: string): RedisConnection {
  const client = new RedisClient(url, {
    // While disconnected, commands fail at once instead of queueing: a request must not wait for Redis.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 2000,
    // Reconnect forever, backing off to one attempt every 2 s.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000)
  })
  let state: 'connecting' | 'up' | 'down' = 'connecting'
  const connection: RedisConnection = {
    client,
    get healthy () { return state === 'up' },
    get connected () { return client.status === 'ready' },
    reportFailure (error) {
      if (state === 'down') return
      state = 'down'
      app.log.warn({ redis: { error: error.message } }, 'Redis is unreachable: rate limits are not enforced until it returns')
    },
    reportSuccess () {
      if (state === 'up') return
      app.log.info(state === 'down' ? 'Redis is reachable again: rate limits are enforced again' : 'Redis connected: rate limits are shared')
      state = 'up'
    }
  }
  client.on('ready', () => connection.reportSuccess())
  client.on('error', (error: Error) => connection.reportFailure(error))
  client.on('close', () => connection.reportFailure(new Error('connection closed')))
  return connection
}

/** The optional Redis connection behind shared rate limits; the service never waits on it. */
async function redisPlugin (app: FastifyInstance, { url, connectWaitMs = 2000 }: RedisPluginOptions): Promise<void> {
  if (url === undefined) {
    app.decorate('redis', null)
    return
  }
  // Loaded only when configured, so a service without Redis does not pay for the client at start-up.
  const { Redis: RedisClient } = await import('ioredis')
  const connection = connect(app, RedisClient, url)
  app.decorate('redis', connection)
  const waited = AbortSignal.timeout(connectWaitMs)
  await once(connection.client, 'ready', { signal: waited }).catch(() => {})
  app.addHook('onClose', async () => {
    connection.client.removeAllListeners('close')
    if (connection.connected) await connection.client.quit().catch(() => {})
    connection.client.disconnect()
  })
}

export default fp(redisPlugin, { name: 'redis', fastify: '5.x' })
