import { newUser } from './app.ts'

/** An operation of the app's OpenAPI document: what the generated matrix tests read of it. */
export interface Operation {
  operationId: string
  security?: Array<Record<string, string[]>>
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> }
  responses: Record<string, unknown>
}

export interface Document {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, { examples?: unknown[] }> }
}

export interface RouteOperation {
  path: string
  method: string
  operation: Operation
}

/** Every operation that needs credentials: the route table as the document tells it, so a new route cannot escape a matrix. */
export function protectedOperations (spec: Document): RouteOperation[] {
  return Object.entries(spec.paths)
    .flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, operation })))
    .filter(({ operation }) => (operation.security ?? []).some((requirement) => Object.keys(requirement).length > 0))
}

/** A body the operation's schema accepts: its example, or a new user to sign up (with `userOverrides`). */
export function bodyFor (spec: Document, operation: Operation, userOverrides: Record<string, unknown> = {}): unknown {
  const reference = operation.requestBody?.content['application/json']?.schema.$ref
  if (reference === undefined) return undefined
  const name = reference.split('/').at(-1)!
  if (name === 'UserCreate') return newUser(userOverrides)
  return spec.components.schemas[name]?.examples?.[0] ?? {}
}
