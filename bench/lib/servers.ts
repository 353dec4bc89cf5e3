import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { freePort } from '../../test/services/ports.js'

export interface RunningServer {
  name: string
  url: string
  /** Resident set size of the server process now, in bytes (Linux /proc). */
  rss (): number
  stop (): Promise<void>
}

async function waitForReady (url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`)
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`not ready within ${timeoutMs} ms`)
}

/** Starts `node <entry>` with PORT set to a free loopback port and waits until readyPath answers 2xx. */
export async function startServer (name: string, entry: string, env: Record<string, string>, readyPath = '/health/ready'): Promise<RunningServer & { startupMs: number }> {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(process.execPath, [entry], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  try {
    await waitForReady(url + readyPath, child, 60_000)
  } catch (error) {
    child.kill('SIGKILL')
    throw new Error(`${name} did not start: ${(error as Error).message}`)
  }
  return {
    name,
    url,
    startupMs: performance.now() - started,
    rss () {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
    },
    async stop () {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const forced = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(forced)
    }
  }
}
