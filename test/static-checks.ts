/**
 * The checks `npm test` runs before the suite: the type check and the linters, side by
 * side. Each is single-threaded, so on two cores they take the time of the longer one.
 */
import { spawn } from 'node:child_process'

function run (script: string): Promise<number> {
  const child = spawn('npm', ['run', '--silent', script], { stdio: 'inherit' })
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128))))
}

const codes = await Promise.all([run('typecheck'), run('lint')])
process.exitCode = codes.find((code) => code !== 0) ?? 0
