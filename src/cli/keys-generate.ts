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

function fail (message: string): never {
  process.stderr.write(`keys:generate: ${message}\n`)
  process.exit(1)
}

async function readStdin (): Promise<string> {
  if (process.stdin.isTTY) fail('pipe the current JWT_SIGNING_KEYS into standard input')
  let input = ''
  for await (const chunk of process.stdin) input += String(chunk)
  return input.trim()
}

const { values } = parseArgs({
  options: { alg: { type: 'string', default: 'EdDSA' }, rotate: { type: 'boolean', default: false }, retire: { type: 'boolean', default: false }, data: { type: 'boolean', default: false } }
})
if (!(ALGORITHMS as readonly string[]).includes(values.alg)) fail(`--alg must be one of ${ALGORITHMS.join(', ')}`)
if (values.rotate && values.retire) fail('--rotate and --retire do not go together')

try {
  if (values.data) {
    if (values.retire) fail('--retire is for signing keys: a data key stays as long as something it sealed may be read')
    process.stdout.write(`${JSON.stringify(prependNewDataKey(values.rotate ? await readStdin() : undefined))}\n`)
  } else if (values.retire) {
    const current = await readStdin()
    await parseSigningKeys(current)
    const [first] = (JSON.parse(current) as { keys: unknown[] }).keys
    process.stdout.write(`${JSON.stringify({ keys: [first] })}\n`)
  } else {
    const current = values.rotate ? await readStdin() : undefined
    process.stdout.write(`${JSON.stringify(await prependNewKey(current, values.alg as SigningAlgorithm))}\n`)
  }
} catch (error) {
  if (error instanceof SigningKeyError || error instanceof KeyRingError) fail(`the current set ${error.message}`)
  throw error
}
