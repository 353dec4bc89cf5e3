import { AjvCompiler, type BuildCompilerFromPool, type RouteDefinition } from '@fastify/ajv-compiler'

const buildCompiler = AjvCompiler()

// Shared by both compilers: report every failing field, never drop unknown members
// silently, and keep the failing schema so errors can quote its description.
const common = { allErrors: true, removeAdditional: false, verbose: true } as const

function buildPartAwareValidator (externalSchemas: Parameters<BuildCompilerFromPool>[0]) {
  const forBody = buildCompiler(externalSchemas, { customOptions: { ...common, coerceTypes: false } })
  const forParameters = buildCompiler(externalSchemas, { customOptions: { ...common, coerceTypes: 'array' } })
  return (route: RouteDefinition) => (route.httpPart === 'body' ? forBody(route) : forParameters(route))
}

/**
 * Bodies are JSON, so their types are checked strictly (a number is not a name);
 * path and query parameters arrive as strings and are coerced to their types.
 * The cast is because @fastify/ajv-compiler's typings describe the compiled function's
 * argument as a bare schema, while Fastify passes it the route definition.
 */
export const buildValidator = buildPartAwareValidator as unknown as BuildCompilerFromPool
