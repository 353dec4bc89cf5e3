import Type, { type Static, type TSchema, type TUnsafe } from 'typebox'

/**
 * A `$ref` to a shared schema (added to the app once, by its `$id`) that keeps the
 * schema's static type, so the TypeBox type provider types handlers from it.
 */
export function refTo<Schema extends TSchema> (schema: Schema): TUnsafe<Static<Schema>> {
  const id = (schema as { $id?: unknown }).$id
  if (typeof id !== 'string') throw new Error('refTo needs a schema with an $id')
  return Type.Unsafe<Static<Schema>>(Type.Ref(id))
}
