/**
 * npm run -s keys:generate                 a new JWK Set with one Ed25519 key
 * npm run -s keys:generate -- --alg ES256  … with one P-256 key
 * npm run -s keys:generate -- --rotate     reads the current set on standard input and
 *                                          prints it with a new key in front
 * npm run -s keys:generate -- --retire     reads the current set and prints it with
 *                                          only its first key (after JWT_TTL_SECONDS)
 * npm run -s keys:generate -- --data       a new DATA_ENCRYPTION_KEYS ring with one key;
 *                                          with --rotate, the current ring (standard
 *                                          input) with a new key in front. Old keys stay:
 *                                          they open what they sealed.
 * The set is printed on one line, ready for JWT_SIGNING_KEYS. Keys never travel as
 * arguments: those show up in the process list and the shell history.
 */
import { parseArgs } from 'node:util'
import { ALGORITHMS, parseSigningKeys, prependNewKey, SigningKeyError, type SigningAlgorithm } from '../identity/signing-keys.ts'
import { KeyRingError, prependNewDataKey } from '../secrets/key-ring.ts'
import { CommandFailure, readInput, runAsMain, type CommandIo } from './command.ts'

async function currentSet (io: CommandIo): Promise<string> {
  if (io.stdin.isTTY === true) throw new CommandFailure('pipe the current JWT_SIGNING_KEYS into standard input')
  return (await readInput(io)).trim()
}

async function generated (io: CommandIo, values: { alg: string, rotate: boolean, retire: boolean, data: boolean }): Promise<unknown> {
  if (values.data) {
    if (values.retire) throw new CommandFailure('--retire is for signing keys: a data key stays as long as something it sealed may be read')
    return prependNewDataKey(values.rotate ? await currentSet(io) : undefined)
  }
  if (values.retire) {
    const current = await currentSet(io)
    await parseSigningKeys(current)
    const [first] = (JSON.parse(current) as { keys: unknown[] }).keys
    return { keys: [first] }
  }
  return prependNewKey(values.rotate ? await currentSet(io) : undefined, values.alg as SigningAlgorithm)
}

export async function keysGenerateCommand (io: CommandIo): Promise<void> {
  const { values } = parseArgs({
    args: io.args,
    options: { alg: { type: 'string', default: 'EdDSA' }, rotate: { type: 'boolean', default: false }, retire: { type: 'boolean', default: false }, data: { type: 'boolean', default: false } }
  })
  if (!(ALGORITHMS as readonly string[]).includes(values.alg)) throw new CommandFailure(`--alg must be one of ${ALGORITHMS.join(', ')}`)
  if (values.rotate && values.retire) throw new CommandFailure('--rotate and --retire do not go together')
  try {
    io.stdout.write(`${JSON.stringify(await generated(io, values))}\n`)
  } catch (error) {
    if (error instanceof SigningKeyError || error instanceof KeyRingError) throw new CommandFailure(`the current set ${error.message}`)
    throw error
  }
}

if (import.meta.main) await runAsMain('keys:generate', keysGenerateCommand)
