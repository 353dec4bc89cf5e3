/** What a person can finish a login with, as the mfa_required answer lists them. */
export const SECOND_FACTOR_KINDS = ['totp', 'webauthn', 'recovery_code'] as const
export type SecondFactorKind = typeof SECOND_FACTOR_KINDS[number]

export const FACTOR_TYPES = ['totp', 'webauthn'] as const
export type FactorType = typeof FACTOR_TYPES[number]

/** RFC 8176 methods a login used, by what proved the person. */
export const AMR = { password: 'pwd', otp: 'otp', hardwareKey: 'hwk', multiFactor: 'mfa' } as const
