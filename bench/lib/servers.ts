import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { freePort } from '../../test/services/ports.ts'
import type { ServerProbe } from './load.ts'

/** Linux's USER_HZ: the unit of the CPU times in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_SECOND = 100

export interface RunningServer extends ServerProbe {
  name: string
  url: string
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

export interface ServerSpec {
  name: string
  entry: string
  env: Record<string, string>
  /** e.g. `--import tsx` for a server run from TypeScript source. */
  nodeArgs?: string[]
  /** Where its standard output (the request log) goes; discarded when unset. */
  logFile?: string
  readyPath?: string
}

/** Starts `node <entry>` with PORT set to a free loopback port and waits until readyPath answers 2xx. */
export async function startServer ({ name, entry, env, nodeArgs = [], logFile, readyPath = '/health/ready' }: ServerSpec): Promise<RunningServer & { startupMs: number }> {
  const port = await freePort()
  const log = logFile === undefined ? 'ignore' : openSync(logFile, 'a')
  const started = performance.now()
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', log, 'inherit']
  })
  if (typeof log === 'number') closeSync(log)
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
    cpuSeconds () {
      // utime and stime are the 14th and 15th fields; the 2nd, the command, may hold spaces but ends with ')'.
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
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
