import Type from 'typebox'
import { FACTOR_TYPES, SECOND_FACTOR_KINDS } from '../src/mfa/factor-kinds.ts'
import { problemMembers } from './problem.ts'
import { refTo } from './ref.ts'
import { Id } from './strings.ts'
import { Name } from './user.ts'

const timestamp = (description?: string) => Type.Unsafe<Date | string>(Type.String({ format: 'date-time', ...(description === undefined ? {} : { description }) }))
const Base64Url = (maxLength: number, description?: string) => Type.String({ pattern: '^[A-Za-z0-9_-]*$', maxLength, ...(description === undefined ? {} : { description }) })

export const Factor = Type.Object({
  id: Id(),
  type: Type.Enum([...FACTOR_TYPES]),
  name: Type.String(),
  created_at: timestamp(),
  last_used_at: Type.Union([timestamp(), Type.Null()], { description: 'The last login it completed; null before the first.' })
}, {
  $id: 'Factor',
  additionalProperties: false,
  description: 'A second factor: an authenticator app (TOTP) or a WebAuthn credential (a security key or passkey). Never its secret.',
  examples: [{ id: '0196b5a0-7c1e-7d4a-9f2b-3c4d5e6f7a8d', type: 'totp', name: 'Phone', created_at: '2026-12-01T09:00:00.000Z', last_used_at: null }]
})

export const FactorList = Type.Object({
  data: Type.Array(refTo(Factor)),
  recovery_codes_remaining: Type.Integer({ minimum: 0, description: 'Unused recovery codes.' })
}, { $id: 'FactorList', additionalProperties: false })

const RecoveryCodeList = Type.Array(Type.String(), { minItems: 10, maxItems: 10, description: 'Ten single-use codes, shown this once: keep them somewhere safe. Dashes are for reading; they do not count.' })

export const FactorAdded = Type.Object({
  factor: refTo(Factor),
  recovery_codes: Type.Optional(RecoveryCodeList)
}, {
  $id: 'FactorAdded',
  additionalProperties: false,
  description: 'The factor, and with a user\'s first factor their recovery codes.'
})

export const RecoveryCodes = Type.Object({
  recovery_codes: RecoveryCodeList
}, { $id: 'RecoveryCodes', additionalProperties: false, examples: [{ recovery_codes: ['7kq3-m9xa-c2dw-hp4t', 'b8ne-5rzu-w3fj-k6ys', 'q2vc-x7hm-4gta-n9ep', 'd5wr-j8kb-z3uq-6fyc', 'e4tn-p7gs-2hxm-v9ka', 'u6cj-r3wd-8ybn-f5qz', 'g2mk-t9ev-x4hs-7cpa', 'w8fq-k5nj-3rtu-b6dy', 'h7zx-c4gm-9evp-2kwn', 's3bt-y6qa-f8jr-5mud'] }] })

export const TotpEnrolmentRequest = Type.Object({
  name: Type.Optional(Name)
}, { $id: 'TotpEnrolmentRequest', additionalProperties: false, examples: [{ name: 'Phone' }] })

export const TotpEnrolment = Type.Object({
  id: Id(),
  type: Type.Literal('totp'),
  secret: Type.String({ description: 'The shared secret in base32 (160 bits), shown this once.' }),
  otpauth_uri: Type.String({ description: '`otpauth://totp/<issuer>:<email>?secret=…&issuer=…` for a QR code.' }),
  confirmed: Type.Literal(false)
}, {
  $id: 'TotpEnrolment',
  additionalProperties: false,
  description: 'RFC 6238: SHA-1, 6 digits, 30 s. Confirm it with a code within 15 minutes, or it is gone.'
})

export const FactorConfirmation = Type.Object({
  code: Type.String({ minLength: 1, maxLength: 64, writeOnly: true, description: 'The code the authenticator app shows now.' })
}, { $id: 'FactorConfirmation', additionalProperties: false, examples: [{ code: '492039' }] })

// The WebAuthn Level 3 JSON forms (toJSON() of a PublicKeyCredential): the ceremony's own
// checks are the library's; these only bound what is read.
const AuthenticatorResponseBase = {
  clientDataJSON: Base64Url(8192)
}

export const RegistrationCredential = Type.Object({
  id: Base64Url(1366),
  rawId: Base64Url(1366),
  type: Type.Literal('public-key'),
  response: Type.Object({
    ...AuthenticatorResponseBase,
    attestationObject: Base64Url(65_536),
    transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })),
    authenticatorData: Type.Optional(Base64Url(65_536)),
    publicKey: Type.Optional(Base64Url(8192)),
    publicKeyAlgorithm: Type.Optional(Type.Integer())
  }, { additionalProperties: true }),
  authenticatorAttachment: Type.Optional(Type.Enum(['platform', 'cross-platform'])),
  clientExtensionResults: Type.Object({}, { additionalProperties: true })
}, { $id: 'RegistrationCredential', additionalProperties: true, description: 'What `navigator.credentials.create()` resolved to, as its `toJSON()`.' })

export const AuthenticationCredential = Type.Object({
  id: Base64Url(1366),
  rawId: Base64Url(1366),
  type: Type.Literal('public-key'),
  response: Type.Object({
    ...AuthenticatorResponseBase,
    authenticatorData: Base64Url(65_536),
    signature: Base64Url(8192),
    userHandle: Type.Optional(Base64Url(128))
  }, { additionalProperties: true }),
  authenticatorAttachment: Type.Optional(Type.Enum(['platform', 'cross-platform'])),
  clientExtensionResults: Type.Object({}, { additionalProperties: true })
}, { $id: 'AuthenticationCredential', additionalProperties: true, description: 'What `navigator.credentials.get()` resolved to, as its `toJSON()`.' })

export const WebauthnRegistration = Type.Object({
  name: Type.Optional(Name),
  credential: refTo(RegistrationCredential)
}, {
  $id: 'WebauthnRegistration',
  additionalProperties: false,
  examples: [{ name: 'YubiKey', credential: { id: 'Y3JlZGVudGlhbA', rawId: 'Y3JlZGVudGlhbA', type: 'public-key', response: { clientDataJSON: 'eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0', attestationObject: 'o2NmbXRkbm9uZQ', transports: ['usb'] }, clientExtensionResults: {} } }]
})

const CredentialDescriptor = Type.Object({
  id: Type.String(),
  type: Type.String({ description: '`public-key`' }),
  transports: Type.Optional(Type.Array(Type.String()))
}, { additionalProperties: false })

export const CreationOptions = Type.Object({
  rp: Type.Object({ id: Type.Optional(Type.String()), name: Type.String() }, { additionalProperties: false }),
  user: Type.Object({ id: Type.String(), name: Type.String(), displayName: Type.String() }, { additionalProperties: false }),
  challenge: Type.String({ description: 'Random, single-use, valid for 5 minutes.' }),
  pubKeyCredParams: Type.Array(Type.Object({ type: Type.String({ description: '`public-key`' }), alg: Type.Integer() }, { additionalProperties: false }), { description: 'EdDSA (-8), ES256 (-7), RS256 (-257).' }),
  timeout: Type.Optional(Type.Integer()),
  excludeCredentials: Type.Optional(Type.Array(CredentialDescriptor)),
  authenticatorSelection: Type.Optional(Type.Object({
    authenticatorAttachment: Type.Optional(Type.String()),
    residentKey: Type.Optional(Type.String()),
    requireResidentKey: Type.Optional(Type.Boolean()),
    userVerification: Type.Optional(Type.String())
  }, { additionalProperties: false })),
  hints: Type.Optional(Type.Array(Type.String())),
  attestation: Type.Optional(Type.String()),
  extensions: Type.Optional(Type.Object({}, { additionalProperties: true }))
}, {
  $id: 'CreationOptions',
  additionalProperties: false,
  description: 'WebAuthn Level 3 `PublicKeyCredentialCreationOptionsJSON`: give it to `PublicKeyCredential.parseCreationOptionsFromJSON()`, then `navigator.credentials.create()`.'
})

export const RequestOptions = Type.Object({
  challenge: Type.String({ description: 'Random, single-use, valid for 5 minutes.' }),
  timeout: Type.Optional(Type.Integer()),
  rpId: Type.Optional(Type.String()),
  allowCredentials: Type.Optional(Type.Array(CredentialDescriptor, { description: 'The user\'s credentials; empty for a passkey login (any discoverable one).' })),
  userVerification: Type.Optional(Type.String()),
  hints: Type.Optional(Type.Array(Type.String())),
  extensions: Type.Optional(Type.Object({}, { additionalProperties: true }))
}, {
  $id: 'RequestOptions',
  additionalProperties: false,
  description: 'WebAuthn Level 3 `PublicKeyCredentialRequestOptionsJSON`: give it to `PublicKeyCredential.parseRequestOptionsFromJSON()`, then `navigator.credentials.get()`.'
})

const MfaToken = Type.String({ minLength: 1, maxLength: 512, writeOnly: true, description: 'From the 403 `mfa_required` answer of the password grant.' })

export const MfaRequest = Type.Object({
  mfa_token: MfaToken,
  code: Type.Optional(Type.String({ minLength: 1, maxLength: 64, writeOnly: true, description: 'A TOTP code, or a recovery code.' })),
  credential: Type.Optional(refTo(AuthenticationCredential))
}, {
  $id: 'MfaRequest',
  additionalProperties: false,
  description: 'The `mfa_token` and exactly one of `code` (TOTP or recovery code) and `credential` (a WebAuthn assertion for the options of POST /v1/auth/mfa/webauthn-options).',
  examples: [{ mfa_token: 'Jm0q8tBv3Xc1ZrUe5yKp9sWd2hQf6nLa7gTj4oVbR1k', code: '492039' }]
})

export const MfaOptionsRequest = Type.Object({ mfa_token: MfaToken }, { $id: 'MfaOptionsRequest', additionalProperties: false })

export const PasskeyLogin = Type.Object({ credential: refTo(AuthenticationCredential) }, { $id: 'PasskeyLogin', additionalProperties: false })

// One schema for every 403 of the token endpoint: `mfa_required` carries the two members more.
export const MfaRequired = Type.Object({
  error: Type.String({ description: '`mfa_required`; `invalid_grant` for a disabled account.' }),
  error_description: Type.String(),
  ...problemMembers,
  mfa_token: Type.Optional(Type.String({ description: 'Opaque, single-use, valid for `MFA_TOKEN_TTL_SECONDS` (5 minutes): send it to POST /v1/auth/mfa with a second factor.' })),
  factors: Type.Optional(Type.Array(Type.Enum([...SECOND_FACTOR_KINDS]), { description: 'What the user can finish with.' }))
}, {
  $id: 'MfaRequired',
  description: 'An `mfa_required` answer: the password was right, but the account has a second factor, and no session exists yet.',
  examples: [{ error: 'mfa_required', error_description: 'The password is right; finish the login with a second factor at POST /v1/auth/mfa.', type: '/problems/mfa-required', title: 'A second factor is needed to log in', status: 403, detail: 'The password is right; finish the login with a second factor at POST /v1/auth/mfa.', instance: '/v1/auth/token', request_id: '5f0c6d1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f', mfa_token: 'Jm0q8tBv3Xc1ZrUe5yKp9sWd2hQf6nLa7gTj4oVbR1k', factors: ['totp', 'recovery_code'] }]
})

export const FactorParams = Type.Object({ id: Id(), factor_id: Id() })
