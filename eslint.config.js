import neostandard from 'neostandard'

// Fastify's own projects lint with neostandard; `ts: true` adds typescript-eslint's rules.
export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'coverage/**', '.tap/**', 'sdk/src/generated/**', 'sdk/dist/**', 'test/artifacts/**', 'bench/results/**', 'data/**']
  }),
  {
    // `void promise` marks a promise deliberately not awaited (a server started from a callback).
    rules: { 'no-void': ['error', { allowAsStatement: true }] }
  }
]
