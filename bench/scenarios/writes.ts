import type { LoadOptions } from '../lib/load.ts'

/**
 * PATCH /v1/users/{id} renaming users, as an admin, going round the given users in turn:
 * with many more users than connections, a user comes round again long after its last
 * rename was answered, so requests do not queue on one another's row locks.
 */
export function renames (userIds: string[], token: string, load: LoadOptions): LoadOptions {
  let renamed = 0
  return {
    ...load,
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    request: {
      setupRequest: (request) => {
        renamed += 1
        return { ...request, path: `/v1/users/${userIds[renamed % userIds.length]!}`, body: JSON.stringify({ name: `Renamed ${renamed}` }) }
      }
    }
  }
}

/** POST /v1/users: unique sign-ups (argon2id hashes dominate). */
export function signUps (load: LoadOptions): LoadOptions {
  return {
    ...load,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'signup-[<id>]@bench.example', name: 'Sign Up', password: 'correct horse battery' }),
    idReplacement: true
  }
}
