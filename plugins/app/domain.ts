import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { MfaSettings } from '../../src/config.ts'
import type { CredentialsDomain } from '../../src/common/domain.ts'
import type { LoginThrottlePolicy } from '../../src/identity/login-throttle.ts'
import type { Passwords } from '../../src/identity/passwords.ts'
import type { KeyRing } from '../../src/secrets/key-ring.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** What the routes hand every domain operation: the database, the port to this replica's principal cache, the password hasher, the failed-login delay, the key ring, the MFA settings and the clock. */
    domain: CredentialsDomain
  }
}

export interface DomainPluginOptions {
  /** Resolves to the ring of DATA_ENCRYPTION_KEYS (or a development one). */
  secrets: () => Promise<KeyRing>
  passwords: Passwords
  loginThrottle: LoginThrottlePolicy
  mfa: MfaSettings
  now: () => number
}

/** Hands the domain what it needs, so that the domain, not a route, tells the cache what changed. */
async function domainPlugin (app: FastifyInstance, { secrets, passwords, loginThrottle, mfa, now }: DomainPluginOptions): Promise<void> {
  app.decorate('domain', { db: app.db, access: app.accessChanges, passwords, loginThrottle, secrets: await secrets(), mfa, now })
}

export default fp(domainPlugin, { name: 'domain', fastify: '5.x', dependencies: ['database', 'auth'] })
