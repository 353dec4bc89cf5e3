import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from './ports.ts'

export interface RedisServer {
  url: string
  stop (): Promise<void>
  /** Starts again on the same port, empty (nothing is persisted), after stop(). */
  start (): Promise<void>
  destroy (): Promise<void>
}

async function waitUntilAnswering (url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`)
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.ping()
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    } finally {
      client.disconnect()
    }
  }
}

/** A throw-away redis-server (REDIS_SERVER, else the one on PATH) on a loopback port, persisting nothing. */
export async function startRedis (): Promise<RedisServer> {
  const directory = mkdtempSync(join(tmpdir(), 'users-service-redis-'))
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined

  async function start (): Promise<void> {
    const server = spawn(process.env.REDIS_SERVER ?? 'redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', directory, '--save', '', '--appendonly', 'no'
    ], { stdio: ['ignore', 'ignore', 'pipe'] })
    child = server
    const spawned = new Promise<void>((resolve, reject) => {
      server.once('spawn', resolve)
      server.once('error', reject)
    })
    await spawned
    try {
      await waitUntilAnswering(url, server, 10_000)
    } catch (error) {
      server.kill('SIGKILL')
      throw new Error(`redis-server did not start: ${(error as Error).message}`)
    }
  }

  async function stop (): Promise<void> {
    const server = child
    if (server === undefined || server.exitCode !== null) return
    const exited = new Promise((resolve) => server.once('exit', resolve))
    server.kill('SIGKILL')
    await exited
  }

  await start()
  return {
    url,
    start,
    stop,
    async destroy () {
      await stop()
      rmSync(directory, { recursive: true, force: true })
    }
  }
}
