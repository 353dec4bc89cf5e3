/**
 * The suite hashes thousands of passwords: at OWASP's baseline that was a tenth of its CPU.
 * Production-shaped apps keep the default, which production requires.
 */
export function cheapHashingUnlessProduction (env: Record<string, string | undefined>): Record<string, string> {
  return env.NODE_ENV === 'production' ? {} : { PASSWORD_HASH_MEMORY_KIB: '1024', PASSWORD_HASH_ITERATIONS: '1' }
}
