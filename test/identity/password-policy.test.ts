import t from 'tap'
import { loadConfig } from '../../src/config.ts'
import { buildTestApp, newUser } from '../helpers/app.ts'
import { forEachDatabase } from '../helpers/databases.ts'

// On the list shipped by @zxcvbn-ts/language-common, in any case; or nothing but white space.
const GUESSABLE = ['password', 'PassWord', 'iloveyou', '12345678', 'qwertyuiop', '        ', ' \t \u00a0  \n ']

forEachDatabase(t, async (t, database) => {
  const { api, admin, signUp } = await buildTestApp(t, await database.create(t))

  t.test('sign-up refuses passwords people guess first', async (t) => {
    for (const password of GUESSABLE) {
      const response = await api.post('/v1/users', newUser({ password }))
      t.equal(response.status, 422, `${JSON.stringify(password)}: 422`)
      t.match(response.body.errors, [{ pointer: '/password', detail: /common or breached|white space/ }], 'points at the password')
    }
    t.equal((await api.post('/v1/users', newUser({ password: 'tangerine lighthouse 7' }))).status, 201, 'an uncommon one is fine')
  })

  t.test('a PATCH, by the user or an admin, refuses them too and changes nothing', async (t) => {
    const { user, api: userApi } = await signUp()
    const own = await userApi.patch(`/v1/users/${user.id}`, { password: 'password1', current_password: 'correct horse battery' })
    t.equal(own.status, 422)
    t.match(own.body.errors, [{ pointer: '/password' }])
    t.equal((await admin.patch(`/v1/users/${user.id}`, { password: '         ' })).status, 422, 'an admin setting white space')
    t.equal((await api.post('/v1/auth/token', { email: user.email, password: 'correct horse battery' })).status, 200, 'the password is unchanged')
  })
})

t.test('ADMIN_PASSWORD is held to the same rule at start-up', async (t) => {
  t.throws(() => loadConfig({ ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'password' }), /^ADMIN_PASSWORD is refused: .*common or breached/)
})
