import type { Readable, Writable } from 'node:stream'
import { DomainError, InvalidFieldError } from '../common/errors.ts'
import { ConfigError } from '../config.ts'

/** What a command takes from the process that runs it; a test hands it streams of its own. */
export interface CommandIo {
  args: string[]
  env: Record<string, string | undefined>
  stdin: Readable & { isTTY?: boolean, setRawMode?: (raw: boolean) => unknown }
  stdout: Writable
  stderr: Writable
}

export type Command = (io: CommandIo) => Promise<void>

/** A refusal the operator reads as one line, `name: message`, with exit code 1. */
export class CommandFailure extends Error {}

/**
 * Runs a command to its exit code. Refusals (its own, a bad setting, and the domain's, which
 * are the rules every HTTP caller meets) are one line on stderr; anything else is a bug and propagates.
 */
export async function runCommand (name: string, command: Command, io: CommandIo): Promise<number> {
  try {
    await command(io)
    return 0
  } catch (error) {
    if (error instanceof CommandFailure) {
      io.stderr.write(`${name}: ${error.message}\n`)
    } else if (error instanceof ConfigError) {
      io.stderr.write(`${name}: invalid configuration: ${error.message}\n`)
    } else if (error instanceof DomainError) {
      const field = error instanceof InvalidFieldError ? `${error.pointer.replace(/^\//, '')} ` : ''
      io.stderr.write(`${name}: ${field}${error.message}\n`)
    } else {
      throw error
    }
    return 1
  }
}

/** The entry point of `node dist/src/cli/<command>.js`: the process's own arguments and streams. */
export async function runAsMain (name: string, command: Command): Promise<void> {
  process.exitCode = await runCommand(name, command, { args: process.argv.slice(2), env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr })
}

/** Everything piped into standard input. */
export async function readInput (io: CommandIo): Promise<string> {
  let input = ''
  for await (const chunk of io.stdin) input += String(chunk)
  return input
}
