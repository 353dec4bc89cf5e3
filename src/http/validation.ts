import { AjvCompiler, type BuildCompilerFromPool, type RouteDefinition } from '@fastify/ajv-compiler'
import { rememberCompiled } from './compiled-cache.ts'

const buildCompiler = AjvCompiler()

// Shared by both compilers: report every failing field, never drop unknown members
// silently, and keep the failing schema so errors can quote its description.
const common = { allErrors: true, removeAdditional: false, verbose: true } as const

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null }

const DECIMAL_INTEGER = /^-?(?:0|[1-9][0-9]{0,14})$/

function integerMembers (schema: unknown): string[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties ?? {}
  return Object.entries(properties).filter(([, property]) => property.type === 'integer').map(([name]) => name)
}

/**
 * ajv coerces a parameter with Number(), which reads `0x10`, `1e1`, ` 16` and an empty
 * string as integers: a parameter declared an integer must be written as one, in decimal.
 */
function decimalIntegersOnly (validate: Validate, schema: unknown): Validate {
  const members = integerMembers(schema)
  if (members.length === 0) return validate
  const strict: Validate = (data) => {
    const values = data as Record<string, unknown>
    const malformed = members.filter((name) => typeof values[name] === 'string' && !DECIMAL_INTEGER.test(values[name] as string))
    if (malformed.length === 0) {
      const valid = validate(data)
      strict.errors = validate.errors
      return valid
    }
    strict.errors = malformed.map((name) => ({ instancePath: `/${name}`, keyword: 'type', message: 'must be a decimal integer', params: { type: 'integer' } }))
    return false
  }
  return strict
}

function buildPartAwareValidator (externalSchemas: Parameters<BuildCompilerFromPool>[0]) {
  // Each ajv instance takes in every shared schema: set up when the first schema compiles, like the schemas themselves.
  let forBody: ReturnType<typeof buildCompiler> | undefined
  let forParameters: ReturnType<typeof buildCompiler> | undefined
  const compile = (route: RouteDefinition) => route.httpPart === 'body'
    ? (forBody ??= buildCompiler(externalSchemas, { customOptions: { ...common, coerceTypes: false } }))(route)
    : decimalIntegersOnly((forParameters ??= buildCompiler(externalSchemas, { customOptions: { ...common, coerceTypes: 'array' } }))(route) as Validate, route.schema)
  return rememberCompiled('validator', externalSchemas, compile, (route) => [route.httpPart === 'body', route.schema])
}

/**
 * Bodies are JSON, so their types are checked strictly (a number is not a name);
 * path and query parameters arrive as strings and are coerced to their types.
 * The cast is because @fastify/ajv-compiler's typings describe the compiled function's
 * argument as a bare schema, while Fastify passes it the route definition.
 */
export const buildValidator = buildPartAwareValidator as unknown as BuildCompilerFromPool

/** For an API scope's onRoute hook: a route that declares no query parameters accepts none. */
export function refuseUndeclaredQueryParameters (route: { schema?: { querystring?: unknown } }): void {
  route.schema = { ...route.schema, querystring: route.schema?.querystring ?? { type: 'object', properties: {}, additionalProperties: false } }
}
