// Module resolution hooks (node:module register): every import of src/events resolves to
// bench/servers/events-off.ts instead, except the one that module itself makes.
const REPLACEMENT = new URL('./events-off.ts', import.meta.url).href

export async function resolve (specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context)
  if (resolved.url.endsWith('/src/events/outbox.ts') && context.parentURL !== REPLACEMENT) return { ...resolved, url: REPLACEMENT }
  return resolved
}
