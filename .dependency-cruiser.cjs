/**
 * The layers, as rules a wrong import breaks (`npm test` runs `npm run lint:deps`):
 * - routes/ speak HTTP and call the domain modules in src/; they reach plugins only
 *   through the decorators those register, never by import.
 * - plugins/ are cross-cutting and are handed what they need; they import the domain,
 *   never routes.
 * - src/'s feature folders (the domain and the data layer) know nothing of HTTP: not
 *   Fastify, not the HTTP helpers in src/http/, not routes, plugins or schemas. They throw
 *   domain errors; the problems plugin alone turns them into responses. They also decide
 *   who may do what: routes hand them the actor and never import the rules.
 * - Only src/app.ts assembles routes and plugins.
 */
// The feature folders of the domain, and the data layer and helpers they share.
const DOMAIN = '^src/(users|identity|clients|mfa|scim|transfer|secrets|access|account|events|idempotency|db|common|observability|runtime)/'

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules are one module in two files.',
      from: {},
      to: { circular: true }
    },
    {
      name: 'domain-knows-no-http',
      severity: 'error',
      comment: 'src/ is the domain and the data layer: no Fastify, no HTTP helpers, no routes, plugins or schemas.',
      from: { path: DOMAIN },
      to: { path: ['^routes/', '^plugins/', '^schemas/', '^src/http/', '^src/app\\.ts$', '^node_modules/(fastify|@fastify/|fastify-plugin|find-my-way)'] }
    },
    {
      name: 'routes-use-decorators-not-plugins',
      severity: 'error',
      comment: 'Routes reach cross-cutting concerns through the decorators plugins register.',
      from: { path: '^routes/' },
      to: { path: ['^plugins/', '^src/app\\.ts$', '^src/db/'] }
    },
    {
      name: 'routes-do-not-decide-who-may',
      severity: 'error',
      comment: 'Who may do what is the domain\'s to decide, so the CLI and every later caller get the same rules: routes pass the actor on.',
      from: { path: '^routes/' },
      to: { path: ['^src/access/rules\\.ts$', '^src/access/principal-cache\\.ts$'] }
    },
    {
      name: 'plugins-do-not-import-routes',
      severity: 'error',
      from: { path: '^plugins/' },
      to: { path: ['^routes/', '^src/app\\.ts$'] }
    },
    {
      name: 'only-the-app-assembles',
      severity: 'error',
      comment: 'Routes and plugins are registered in src/app.ts only.',
      from: { path: '^src/', pathNot: '^src/app\\.ts$' },
      to: { path: ['^routes/', '^plugins/'] }
    },
    {
      name: 'schemas-describe-only',
      severity: 'error',
      comment: 'Schemas are data: they may read constants of the domain, not its behaviour or the database.',
      from: { path: '^schemas/' },
      to: { path: ['^routes/', '^plugins/', '^src/db/', '^src/users/users\\.ts$'] }
    },
    {
      name: 'production-code-not-from-tests-or-benchmarks',
      severity: 'error',
      from: { path: '^(src|plugins|routes|schemas)/' },
      to: { path: '^(test|bench)/' }
    },
    {
      name: 'production-code-not-on-dev-dependencies',
      severity: 'error',
      comment: 'The image installs only dependencies: a dev dependency would be missing in production.',
      from: { path: '^(src|plugins|routes|schemas)/' },
      to: { dependencyTypes: ['npm-dev'] }
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Generated from openapi.json by @hey-api/openapi-ts: its own cycles are not ours to keep.
    exclude: { path: '^sdk/src/generated/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types']
    }
  }
}
