/**
 * Password hashes made elsewhere, by real producers (bcryptjs, node:crypto's scrypt and
 * PBKDF2 as PHC strings, Django's format, Firebase's published test vector), verify here;
 * out-of-bounds parameters and unknown formats are refused; and the first login with one
 * turns it into this service's argon2id, after which the password still logs in.
 */
import { pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto'
import { hash as argon2Hash } from '@node-rs/argon2'
import bcrypt from 'bcryptjs'
import { eq } from 'drizzle-orm'
import t from 'tap'
import { users } from '../../src/db/schema.ts'
import { HashFormatError, parseForeignHash } from '../../src/identity/foreign-hashes.ts'
import { OWASP_BASELINE, passwordHasher } from '../../src/identity/passwords.ts'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

const PASSWORD = 'migrated passphrase'
// The library's Algorithm is a const enum, which isolated modules cannot read: its values.
const ARGON2D = 0
const ARGON2I = 1
const ARGON2ID = 2
const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '')

function scryptPhc (password: string, ln = 12, r = 8, p = 1): string {
  const salt = randomBytes(16)
  return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(scryptSync(password, salt, 32, { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r }))}`
}

function pbkdf2Phc (password: string, digest: 'sha256' | 'sha512', iterations = 10_000): string {
  const salt = randomBytes(16)
  return `$pbkdf2-${digest}$i=${iterations},l=32$${b64(salt)}$${b64(pbkdf2Sync(password, salt, iterations, 32, digest))}`
}

/** Django's make_password with PBKDF2PasswordHasher: the salt as text, the key in padded base64. */
// Django's default is 870,000 iterations (5.0); fewer keep the test quick, the format is the same.
function django (password: string, iterations = 20_000): string {
  const salt = 'seasalt2fIQNbFbEwZ'
  return `pbkdf2_sha256$${iterations}$${salt}$${pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('base64')}`
}

// Firebase's published test vector (github.com/firebase/scrypt): its project's hash
// parameters, a user's salt, and the hash its auth export gives for "user1password".
const FIREBASE = '$firescrypt$ln=14,r=8,p=1$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=='

const producers: Array<[string, () => Promise<string> | string, string?]> = [
  ['bcrypt $2b$ (bcryptjs)', () => bcrypt.hashSync(PASSWORD, 8)],
  ['bcrypt $2a$ (bcryptjs, as Rails writes it)', () => bcrypt.hashSync(PASSWORD, 8).replace(/^\$2b\$/, '$2a$')],
  ['bcrypt $2y$ (PHP\'s prefix)', () => bcrypt.hashSync(PASSWORD, 6).replace(/^\$2b\$/, '$2y$')],
  ['argon2id of other parameters', () => argon2Hash(PASSWORD, { algorithm: ARGON2ID, memoryCost: 8192, timeCost: 3 })],
  ['argon2i', () => argon2Hash(PASSWORD, { algorithm: ARGON2I })],
  ['argon2d', () => argon2Hash(PASSWORD, { algorithm: ARGON2D })],
  ['scrypt PHC (node:crypto)', () => scryptPhc(PASSWORD)],
  ['scrypt PHC, padded base64', () => scryptPhc(PASSWORD).replace(/\$([^$]+)$/, (_all, hash: string) => `$${hash}=`)],
  ['PBKDF2-SHA256 PHC (node:crypto)', () => pbkdf2Phc(PASSWORD, 'sha256')],
  ['PBKDF2-SHA512 PHC (node:crypto)', () => pbkdf2Phc(PASSWORD, 'sha512')],
  ['Django pbkdf2_sha256', () => django(PASSWORD)],
  ['Firebase scrypt (published test vector)', () => FIREBASE, 'user1password']
]

const passwords = passwordHasher(OWASP_BASELINE)

t.test('each format verifies the password it was made of, and no other', async (t) => {
  for (const [name, produce, password = PASSWORD] of producers) {
    const hash = await produce()
    t.ok((await passwords.verify(hash, password)).matches, `${name}: the right password`)
    t.notOk((await passwords.verify(hash, `${password}!`)).matches, `${name}: a wrong one`)
    t.notOk(passwords.isCurrent(hash), `${name}: to be rehashed`)
  }
})

t.test('hashes out of bounds or of unknown formats are refused, saying why', async (t) => {
  const refused: Array<[string, RegExp]> = [
    [bcrypt.hashSync('x', 4).replace(/^\$2b\$04\$/, '$2b$17$'), /bcrypt cost must be 4–16/],
    ['$2b$03$' + 'a'.repeat(53), /bcrypt cost/],
    ['$scrypt$ln=21,r=8,p=1$c2FsdA$aGFzaA', /scrypt ln must be 1–20/],
    ['$scrypt$ln=20,r=16,p=1$c2FsdA$aGFzaA', /at most 256 MiB/],
    ['$argon2id$v=19$m=300000,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', /argon2 m must be at most 262144/],
    ['$argon2id$v=19$m=19456,t=11,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', /argon2 t must be 1–10/],
    ['$pbkdf2-sha256$i=999,l=32$c2FsdA$aGFzaA', /1,000–10,000,000 iterations/],
    ['pbkdf2_sha256$10000001$salt$aGFzaA==', /1,000–10,000,000 iterations/],
    ['$pbkdf2-sha256$i=1000$c2F!sdA$aGFzaA', /salt is not base64/],
    ['$scrypt$n=16384,r=8,p=1$c2FsdA$aGFzaA', /parameters are not ln=…,r=…,p=…/],
    ['$firescrypt$ln=14,r=8,p=1$c2FsdA$aGFzaA', /\$firescrypt\$/],
    ['md5$abc$def', /format is not one of/],
    ['{SSHA}abcdef', /format is not one of/],
    ['', /format is not one of/]
  ]
  for (const [hash, why] of refused) {
    t.throws(() => parseForeignHash(hash), HashFormatError, hash)
    t.throws(() => parseForeignHash(hash), why, `${hash}: ${String(why)}`)
  }
  t.notOk((await passwords.verify('md5$abc$def', 'anything')).matches, 'a stored hash that does not parse matches nothing')
})

forEachDatabase(t, async (t, database) => {
  const { app, api } = await buildTestApp(t, await database.create(t))

  t.test('the first login with a foreign hash makes it argon2id; the next login still works', async (t) => {
    for (const [name, produce, password = PASSWORD] of producers.filter(([name]) => /bcryptjs|Django|Firebase|scrypt PHC \(/.test(name))) {
      const { id, email } = (await api.post('/v1/users', newUser())).body
      await app.db.update(users).set({ passwordHash: await produce() }).where(eq(users.id, id))
      t.equal((await api.post('/v1/auth/token', { email, password: `${password}?` })).status, 401, `${name}: a wrong password does not log in`)
      t.equal((await api.post('/v1/auth/token', { email, password })).status, 200, `${name}: the original password does`)
      const [stored] = await app.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, id))
      t.ok(app.domain.passwords.isCurrent(stored!.passwordHash!), `${name}: stored as argon2id now`)
      t.equal((await api.post('/v1/auth/token', { email, password })).status, 200, `${name}: and it still logs in`)
    }
  })
})
