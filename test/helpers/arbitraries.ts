import fc from 'fast-check'

/** The subset of JSON Schema the document uses. */
export interface Schema {
  $ref?: string
  type?: string
  format?: string
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  enum?: unknown[]
  const?: unknown
  anyOf?: Schema[]
  properties?: Record<string, Schema>
  required?: string[]
  minProperties?: number
  items?: Schema
}

export type Components = Record<string, Schema>

function resolve (schema: Schema, components: Components): Schema {
  if (schema.$ref === undefined) return schema
  const name = schema.$ref.replace('#/components/schemas/', '')
  const target = components[name]
  if (target === undefined) throw new Error(`unknown $ref ${schema.$ref}`)
  return resolve(target, components)
}

function stringFor (schema: Schema): fc.Arbitrary<string> {
  const length = { minLength: schema.minLength ?? 0, maxLength: schema.maxLength ?? 40 }
  switch (schema.format) {
    case 'email': return fc.emailAddress().filter((email) => email.length <= (schema.maxLength ?? 254))
    case 'uuid': return fc.uuid()
    case 'date-time': return fc.date({ noInvalidDate: true }).map((date) => date.toISOString())
  }
  if (schema.pattern !== undefined) {
    const pattern = new RegExp(schema.pattern, 'u')
    // fast-check cannot generate from lookarounds or \p{…}: draw text and keep what matches.
    const generated = /\(\?[=!]|\\p\{/.test(schema.pattern) ? fc.string({ ...length, unit: 'grapheme' }) : fc.stringMatching(pattern)
    return generated.filter((text) => text.length <= length.maxLength && text.length >= length.minLength && pattern.test(text))
  }
  return fc.string(length)
}

/** Text that no stored or searched string should accept: NUL, controls, bidi overrides, invisible-only. */
export const hostileText = fc.tuple(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('\u0000', '\u0007', '\u001b', '\u007f', '\u202e', '\u2066', '\u200b\u200b', '\u0085'),
  fc.string({ maxLength: 8 })
).map(([before, hostile, after]) => `${before}${hostile}${after}`)

/** Values that satisfy the schema. */
export function validValue (schema: Schema, components: Components): fc.Arbitrary<unknown> {
  const resolved = resolve(schema, components)
  if (resolved.const !== undefined) return fc.constant(resolved.const)
  if (resolved.enum !== undefined) return fc.constantFrom(...resolved.enum)
  if (resolved.anyOf !== undefined) return fc.oneof(...resolved.anyOf.map((member) => validValue(member, components)))
  switch (resolved.type) {
    case 'string': return stringFor(resolved)
    case 'integer': return fc.integer({ min: resolved.minimum ?? -1000, max: resolved.maximum ?? 1000 })
    case 'number': return fc.double({ min: resolved.minimum ?? -1000, max: resolved.maximum ?? 1000, noNaN: true })
    case 'boolean': return fc.boolean()
    case 'null': return fc.constant(null)
    case 'array': return fc.array(validValue(resolved.items ?? {}, components), { maxLength: 3 })
    case 'object': {
      const properties = resolved.properties ?? {}
      const model = Object.fromEntries(Object.entries(properties).map(([name, member]) => [name, validValue(member, components)]))
      return fc.record(model, { requiredKeys: resolved.required ?? [] })
        .filter((value) => Object.keys(value).length >= (resolved.minProperties ?? 0))
    }
    default: return fc.jsonValue()
  }
}

/** Values that most likely break the schema: anything at all, or a valid object with one member spoiled or one too many. */
export function invalidValue (schema: Schema, components: Components): fc.Arbitrary<unknown> {
  const resolved = resolve(schema, components)
  const names = Object.keys(resolved.properties ?? {})
  const spoilers: Array<fc.Arbitrary<unknown>> = [fc.jsonValue(), hostileText]
  if (names.length > 0) {
    const valid = validValue(resolved, components) as fc.Arbitrary<Record<string, unknown>>
    spoilers.push(
      fc.tuple(valid, fc.constantFrom(...names), fc.jsonValue()).map(([value, name, junk]) => ({ ...value, [name]: junk })),
      fc.tuple(valid, fc.constantFrom(...names), hostileText).map(([value, name, junk]) => ({ ...value, [name]: junk })),
      fc.tuple(valid, fc.constantFrom(...names)).map(([value, name]) => Object.fromEntries(Object.entries(value).filter(([key]) => key !== name))),
      fc.tuple(valid, fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue()).map(([value, name, junk]) => ({ ...value, [name]: junk }))
    )
  }
  return fc.oneof(...spoilers)
}
