/** The data key ring: AES-256-GCM under the first key, every key opening what it sealed, bound to its context. */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { KeyRingError, loadKeyRing, parseKeyRing, prependNewDataKey } from '../../src/secrets/key-ring.ts'

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'

t.test('sealed text names its key, hides the plaintext and differs every time', async (t) => {
  const json = JSON.stringify(prependNewDataKey(undefined))
  const ring = parseKeyRing(json)
  const first = ring.seal(SECRET, 'factor:1')
  const second = ring.seal(SECRET, 'factor:1')
  t.not(first, second, 'a random IV per message')
  t.notOk(first.includes(SECRET) || first.includes(Buffer.from(SECRET).toString('base64url')), 'no plaintext')
  t.equal(first.split('.')[1], (JSON.parse(json) as { keys: Array<{ kid: string }> }).keys[0]!.kid, 'the key id is in the ciphertext')
  t.equal(ring.open(first, 'factor:1'), SECRET)
})

t.test('a rotation: the new key seals, the old one still opens what it sealed', async (t) => {
  const old = JSON.stringify(prependNewDataKey(undefined))
  const sealedBefore = parseKeyRing(old).seal(SECRET, 'ctx')
  const rotated = parseKeyRing(JSON.stringify(prependNewDataKey(old)))
  t.equal(rotated.open(sealedBefore, 'ctx'), SECRET)
  const sealedAfter = rotated.seal(SECRET, 'ctx')
  t.throws(() => parseKeyRing(old).open(sealedAfter, 'ctx'), KeyRingError, 'the old ring does not know the new key')
})

t.test('what does not open: another context, an altered byte, an unknown key, garbage', async (t) => {
  const ring = parseKeyRing(JSON.stringify(prependNewDataKey(undefined)))
  const sealed = ring.seal(SECRET, 'factor:1')
  t.throws(() => ring.open(sealed, 'factor:2'), KeyRingError, 'copied to another row')
  const [version, kid, iv, body] = sealed.split('.')
  const bytes = Buffer.from(body!, 'base64url')
  bytes[0] = bytes[0]! ^ 1
  t.throws(() => ring.open([version, kid, iv, bytes.toString('base64url')].join('.'), 'factor:1'), KeyRingError, 'tampered')
  t.throws(() => parseKeyRing(JSON.stringify(prependNewDataKey(undefined))).open(sealed, 'factor:1'), KeyRingError, 'another ring')
  t.throws(() => ring.open('not sealed at all', 'factor:1'), KeyRingError)
})

t.test('a bad ring is refused without echoing a key', async (t) => {
  t.throws(() => parseKeyRing('{"keys":[{"kid":"a","k":"c2VjcmV0"}]}'), /^key a must be 32 bytes, not 6$/)
  t.throws(() => parseKeyRing('{"keys":[{"k":"c2VjcmV0"}]}'), /^key 0 needs a kid/)
  const key = { kid: 'same', k: Buffer.alloc(32, 1).toString('base64url') }
  t.throws(() => parseKeyRing(JSON.stringify({ keys: [key, key] })), /two keys share a kid/)
})

t.test('development: a ring kept beside the embedded database, the same on the next start', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'users-service-ring-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const file = join(directory, 'data', 'data-encryption-keys.json')
  const sealed = (await loadKeyRing({ keys: undefined, developmentKeysFile: file })).seal(SECRET, 'ctx')
  t.equal((await stat(file)).mode & 0o777, 0o600, 'readable by the owner only')
  t.equal((await loadKeyRing({ keys: undefined, developmentKeysFile: file })).open(sealed, 'ctx'), SECRET)
  t.equal((await loadKeyRing({ keys: await readFile(file, 'utf8'), developmentKeysFile: undefined })).open(sealed, 'ctx'), SECRET)
})
