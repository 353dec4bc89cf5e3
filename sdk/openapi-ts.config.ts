import { defineConfig } from '@hey-api/openapi-ts'

// `npm run sdk` at the repository root: regenerates src/generated from the committed openapi.json.
export default defineConfig({
  input: 'openapi.json',
  output: { path: 'sdk/src/generated' },
  plugins: [
    // Failures throw (as ProblemError, see src/index.ts), so a successful call's data is never undefined.
    { name: '@hey-api/client-fetch', throwOnError: true },
    '@hey-api/typescript',
    // One class whose instances carry their client (base URL, token), rather than functions sharing a global one.
    { name: '@hey-api/sdk', operations: { strategy: 'single', containerName: 'UsersApi', methods: 'instance' } }
  ],
  logs: { file: false }
})
