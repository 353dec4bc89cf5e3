import type { PersonGrant } from '../identity/access-tokens.ts'
import type { SessionGrant } from '../identity/sessions.ts'

/** The RFC 6749 token response of a person's session: its access token says how they logged in, on every refresh too. */
export async function personTokenResponse (issue: (grant: PersonGrant) => Promise<string>, grant: SessionGrant, expiresIn: number) {
  const { amr, acr, authTime } = grant.authentication
  return {
    access_token: await issue({ userId: grant.principal.id, role: grant.principal.role, sessionId: grant.sessionId, amr, acr, authTime: Math.floor(authTime.getTime() / 1000) }),
    token_type: 'Bearer' as const,
    expires_in: expiresIn,
    refresh_token: grant.refreshToken
  }
}
