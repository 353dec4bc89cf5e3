import { generateSync } from 'otplib'
import type { Api, ApiResponse } from './app.ts'

/**
 * The code an independent RFC 6238 implementation (otplib, not the service's own) computes
 * for `secret` at `atMs`: what an authenticator app would show.
 */
export function totpCode (secret: string, atMs: number): string {
  return generateSync({ secret, epoch: Math.floor(atMs / 1000) })
}

export interface EnrolledTotp {
  factorId: string
  secret: string
  recoveryCodes: string[]
}

/** Enrols and confirms an authenticator app for the user `api` is logged in as. */
export async function enrolTotp (api: Api, userId: string, atMs: number): Promise<EnrolledTotp> {
  const enrolment = await api.post(`/v1/users/${userId}/factors/totp`, { name: 'Phone' })
  const confirmed = await api.post(`/v1/users/${userId}/factors/${enrolment.body.id as string}/confirm`, { code: totpCode(enrolment.body.secret, atMs) })
  return { factorId: enrolment.body.id, secret: enrolment.body.secret, recoveryCodes: confirmed.body.recovery_codes ?? [] }
}

/** The password step of a login; for a user with a factor, the 403 with its mfa_token. */
export function passwordStep (api: Api, email: string, password: string): Promise<ApiResponse> {
  return api.post('/v1/auth/token', { email, password })
}

/** A whole login with a TOTP or recovery code as the second step. */
export async function logInWithCode (api: Api, email: string, password: string, code: string): Promise<ApiResponse> {
  const first = await passwordStep(api, email, password)
  return api.post('/v1/auth/mfa', { mfa_token: first.body.mfa_token, code })
}
