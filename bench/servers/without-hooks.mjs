// Module resolution hooks (node:module register) for the cost ledger and the write
// scenarios: each concern named in `data` (BENCH_WITHOUT) has the module that provides
// it replaced by a stand-in under bench/servers/, so the production composition root
// (src/app.ts) carries no switch that only a benchmark uses. A stand-in's own import of
// the module it stands in for resolves to the real one.
const STAND_INS = {
  events: ['/src/events/outbox.ts', './events-off.ts'],
  'security-headers': ['/plugins/app/security-headers.ts', './without/security-headers.ts'],
  'tracing-headers': ['/plugins/app/tracing.ts', './without/tracing.ts'],
  'token-cache': ['/src/identity/access-tokens.ts', './without/access-tokens.ts']
}

let replaced = []

export function initialize (concerns) {
  replaced = concerns.map((name) => {
    const standIn = STAND_INS[name]
    if (standIn === undefined) throw new Error(`BENCH_WITHOUT: no stand-in for ${name}`)
    return { suffix: standIn[0], url: new URL(standIn[1], import.meta.url).href }
  })
}

export async function resolve (specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context)
  const standIn = replaced.find(({ suffix }) => resolved.url.endsWith(suffix))
  if (standIn !== undefined && context.parentURL !== standIn.url) return { ...resolved, url: standIn.url }
  return resolved
}
