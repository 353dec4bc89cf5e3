import Type from 'typebox'

export const TokenRequest = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: 128, writeOnly: true })
}, { $id: 'TokenRequest', additionalProperties: false, examples: [{ email: 'ada@example.com', password: 'correct horse battery' }] })

export const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'A JWT (HS256) to send as `Authorization: Bearer <token>`.' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the token expires.' })
}, { $id: 'TokenResponse', additionalProperties: false, examples: [{ access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwMTk2YjVhMC03YzFlLTdkNGEtOWYyYi0zYzRkNWU2ZjdhOGIifQ.c2lnbmF0dXJl', token_type: 'Bearer', expires_in: 900 }] })
