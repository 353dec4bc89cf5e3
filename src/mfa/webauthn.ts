import { randomBytes } from 'node:crypto'
import type {
  AuthenticationResponseJSON, AuthenticatorTransport, PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON
} from '@simplewebauthn/server'
import { and, eq, gt, inArray, isNull, lt } from 'drizzle-orm'
import type { CredentialsDomain } from '../common/domain.ts'
import type { Database } from '../db/connect.ts'
import { webauthnChallenges } from '../db/schema.ts'
import { InvalidCodeError } from './errors.ts'

export type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON }

// Imported on first use: with its X.509 and ASN.1 dependencies it was ~5 % of a cold start,
// for ceremonies that most replicas serve rarely.
let loaded: Promise<typeof import('@simplewebauthn/server')> | undefined
function webauthn (): Promise<typeof import('@simplewebauthn/server')> {
  // A failed import is not remembered: the next ceremony tries again.
  loaded ??= import('@simplewebauthn/server').catch((error: unknown) => {
    loaded = undefined
    throw error
  })
  return loaded
}

const CHALLENGE_TTL_MS = 5 * 60_000
const CHALLENGE_BYTES = 32
// COSE algorithm ids: EdDSA, ES256, RS256.
const ALGORITHM_IDS = [-8, -7, -257]

type Purpose = typeof webauthnChallenges.purpose.enumValues[number]

/** What a factor keeps of its credential. */
export interface StoredCredential {
  credentialId: string
  publicKey: string
  signCount: number
  transports: string[] | null
}

function transportsOf (credential: Pick<StoredCredential, 'transports'>): AuthenticatorTransport[] | undefined {
  return (credential.transports ?? undefined) as AuthenticatorTransport[] | undefined
}

async function recordChallenge ({ db, now }: CredentialsDomain, challenge: string, purpose: Purpose, userId: string | null): Promise<void> {
  await db.insert(webauthnChallenges).values({ challenge, purpose, userId, expiresAt: new Date(now() + CHALLENGE_TTL_MS) })
}

/** The challenge a response's clientDataJSON names, parsed without trusting it yet. */
function challengeOf (response: { response: { clientDataJSON: string } }): string | undefined {
  try {
    const { challenge } = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown }
    return typeof challenge === 'string' && challenge.length <= 128 ? challenge : undefined
  } catch {
    return undefined
  }
}

/**
 * Uses up the challenge a response answers, on every replica at once (one DELETE): a
 * challenge never counts twice, nor after 5 minutes, nor for another purpose or user.
 */
export async function consumeChallenge ({ db, now }: CredentialsDomain, response: { response: { clientDataJSON: string } }, purpose: Purpose, userId: string | null): Promise<string> {
  const challenge = challengeOf(response)
  if (challenge === undefined) throw new InvalidCodeError('The response carries no challenge of this service.')
  const [used] = await db.delete(webauthnChallenges).where(and(
    eq(webauthnChallenges.challenge, challenge),
    eq(webauthnChallenges.purpose, purpose),
    userId === null ? isNull(webauthnChallenges.userId) : eq(webauthnChallenges.userId, userId),
    gt(webauthnChallenges.expiresAt, new Date(now()))
  )).returning({ challenge: webauthnChallenges.challenge })
  if (used === undefined) throw new InvalidCodeError('The challenge is unknown, used, stale or not for this ceremony: ask for new options.')
  return challenge
}

/** Options to create a credential for this user, one they do not have yet, discoverable where the authenticator can. */
export async function registrationOptions (domain: CredentialsDomain, user: { id: string, email: string, name: string }, existing: StoredCredential[]): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { rpId, rpName } = domain.mfa.webauthn
  const options = await (await webauthn()).generateRegistrationOptions({
    rpName,
    rpID: rpId,
    userName: user.email,
    userDisplayName: user.name,
    // The user handle names nobody outside: the user's id, never the email.
    userID: Buffer.from(user.id.replaceAll('-', ''), 'hex'),
    challenge: randomBytes(CHALLENGE_BYTES),
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((credential) => ({ id: credential.credentialId, transports: transportsOf(credential) })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    supportedAlgorithmIDs: ALGORITHM_IDS
  })
  await recordChallenge(domain, options.challenge, 'registration', user.id)
  return options
}

/** The credential a registration response proves, once its challenge is used up and its signature, origin and RP ID check out. */
export async function verifyRegistration (domain: CredentialsDomain, userId: string, response: RegistrationResponseJSON): Promise<StoredCredential> {
  const challenge = await consumeChallenge(domain, response, 'registration', userId)
  const { rpId, origins } = domain.mfa.webauthn
  const verification = await (await webauthn()).verifyRegistrationResponse({
    response,
    expectedChallenge: challenge,
    expectedOrigin: origins,
    expectedRPID: rpId,
    requireUserVerification: false,
    supportedAlgorithmIDs: ALGORITHM_IDS
  }).catch((error: unknown) => {
    throw new InvalidCodeError(`The credential does not verify: ${(error as Error).message}`)
  })
  if (!verification.verified) throw new InvalidCodeError('The credential does not verify.')
  const { credential } = verification.registrationInfo
  return { credentialId: credential.id, publicKey: Buffer.from(credential.publicKey).toString('base64url'), signCount: credential.counter, transports: credential.transports ?? null }
}

/**
 * Options to prove a credential: of this user's (a second factor), or any discoverable
 * one of this RP with user verification (a passkey login, `userId` null).
 */
export async function authenticationOptions (domain: CredentialsDomain, purpose: Exclude<Purpose, 'registration'>, userId: string | null, allowed: StoredCredential[]): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const options = await (await webauthn()).generateAuthenticationOptions({
    rpID: domain.mfa.webauthn.rpId,
    allowCredentials: allowed.map((credential) => ({ id: credential.credentialId, transports: transportsOf(credential) })),
    challenge: randomBytes(CHALLENGE_BYTES),
    timeout: CHALLENGE_TTL_MS,
    userVerification: purpose === 'passkey' ? 'required' : 'preferred'
  })
  await recordChallenge(domain, options.challenge, purpose, userId)
  return options
}

/**
 * Whether the response proves `credential` for `challenge`, and its new signature count.
 * A count that did not grow (a cloned authenticator) fails, as does a passkey login
 * without user verification.
 */
export async function verifyAuthentication (domain: CredentialsDomain, response: AuthenticationResponseJSON, challenge: string, credential: StoredCredential, requireUserVerification: boolean): Promise<{ signCount: number } | undefined> {
  const { rpId, origins } = domain.mfa.webauthn
  // Outside the try: a library that fails to load is a fault to report, not a wrong credential.
  const library = await webauthn()
  try {
    const verification = await library.verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: origins,
      expectedRPID: rpId,
      credential: { id: credential.credentialId, publicKey: Buffer.from(credential.publicKey, 'base64url'), counter: credential.signCount, transports: transportsOf(credential) },
      requireUserVerification
    })
    return verification.verified ? { signCount: verification.authenticationInfo.newCounter } : undefined
  } catch {
    return undefined
  }
}

/** Deletes challenges past their expiry. */
export async function deleteExpiredChallenges (db: Database, now: number, batch: number): Promise<number> {
  const expired = db.select({ challenge: webauthnChallenges.challenge }).from(webauthnChallenges).where(lt(webauthnChallenges.expiresAt, new Date(now))).limit(batch)
  const deleted = await db.delete(webauthnChallenges).where(inArray(webauthnChallenges.challenge, expired)).returning({ challenge: webauthnChallenges.challenge })
  return deleted.length
}
