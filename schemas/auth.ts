import Type, { type Static } from 'typebox'

export const TokenRequest = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: 128, writeOnly: true })
}, { $id: 'TokenRequest', additionalProperties: false })

export const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'A JWT (HS256) to send as `Authorization: Bearer <token>`.' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the token expires.' })
}, { $id: 'TokenResponse', additionalProperties: false })

export type TokenRequest = Static<typeof TokenRequest>
