import Type from 'typebox'
import { problemResponse } from './problem.ts'

/** The draft-ietf-httpapi-ratelimit-headers fields every response of a limited operation carries. */
export const rateLimitHeaders = {
  'RateLimit-Policy': Type.String({ description: 'The bucket: name, quota `q` and window `w` in seconds, e.g. `"default";q=100;w=60`.' }),
  RateLimit: Type.String({ description: 'What is left: remaining requests `r` and seconds `t` until the window resets, e.g. `"default";r=42;t=17`. Absent while the shared store is unreachable.' })
}

export const rateLimitedResponse = {
  ...problemResponse(429),
  headers: {
    ...rateLimitHeaders,
    'Retry-After': Type.Integer({ minimum: 1, description: 'Seconds to wait; never earlier than the `t` of RateLimit.' })
  }
}
