import type { FastifyInstance } from 'fastify'
import { ensureAdmin } from '../../src/users/users.ts'

export interface BootstrapAdminOptions {
  admin: { email: string, password: string } | undefined
}

/** With ADMIN_EMAIL and ADMIN_PASSWORD set, that admin exists once the app is ready. */
export default async function bootstrapAdmin (app: FastifyInstance, { admin }: BootstrapAdminOptions): Promise<void> {
  if (admin === undefined) return
  await ensureAdmin(app.domain, admin.email, admin.password)
  app.log.info({ email: admin.email }, 'bootstrap admin ensured')
}
