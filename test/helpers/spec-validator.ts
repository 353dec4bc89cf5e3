import { Ajv, type ValidateFunction } from 'ajv'
import formats from 'ajv-formats'

// ajv-formats is CommonJS whose typings only describe the `default` member.
const addFormats = formats as unknown as typeof formats.default

interface Operation { responses: Record<string, { content?: Record<string, unknown> }> }
type OpenApiDocument = { paths: Record<string, Record<string, Operation>>, components: unknown }

export interface ObservedResponse {
  method: string
  path: string
  status: number
  contentType: string | undefined
  body: string
}

function escapePointer (segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1')
}

/**
 * Checks real responses against the OpenAPI document: the status must be documented
 * for the operation, the media type must be the documented one, and the body must
 * match its schema. Responses outside any documented path (unknown routes, wrong
 * methods) must be documented problems.
 */
export class SpecValidator {
  private readonly ajv = new Ajv({ strict: false, allErrors: true })
  private readonly compiled = new Map<string, ValidateFunction>()
  private readonly paths: Array<{ template: string, pattern: RegExp }>
  private readonly spec: OpenApiDocument

  constructor (spec: OpenApiDocument) {
    this.spec = spec
    addFormats(this.ajv)
    this.ajv.addSchema({ ...spec, $id: 'openapi' })
    // A literal path before a templated one, as the router matches them: /v1/users/import before /v1/users/{id}.
    const templated = (template: string) => (template.match(/\{/g) ?? []).length
    this.paths = Object.keys(spec.paths).sort((a, b) => templated(a) - templated(b)).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`)
    }))
  }

  private validator (pointer: string): ValidateFunction {
    const cached = this.compiled.get(pointer)
    if (cached !== undefined) return cached
    const validate = this.ajv.compile({ $ref: `openapi#${pointer}` })
    this.compiled.set(pointer, validate)
    return validate
  }

  /** What is wrong with the response, or an empty list. */
  problems (response: ObservedResponse): string[] {
    const method = response.method.toLowerCase() === 'head' ? 'get' : response.method.toLowerCase()
    const template = this.paths.find(({ pattern }) => pattern.test(response.path))?.template
    const operation = template === undefined ? undefined : this.spec.paths[template]?.[method]
    if (operation === undefined) {
      if (response.status !== 404 && response.status !== 405) return [`${response.method} ${response.path} is not in the document but answered ${response.status}`]
      // Under /scim/v2 every error is SCIM's own, as the document says of that tag.
      if (/^\/scim\/v2(\/|$)/.test(response.path)) return this.bodyProblems(response, '/components/schemas/ScimError', 'application/scim+json')
      return this.bodyProblems(response, '/components/schemas/Problem', 'application/problem+json')
    }
    const status = String(response.status)
    const declared = operation.responses[status]
    if (declared === undefined) return [`${response.method} ${template} does not document status ${status}`]
    const operationPointer = `/paths/${escapePointer(template!)}/${method}/responses/${status}`
    if (declared.content === undefined || response.method === 'HEAD') {
      return response.body === '' ? [] : [`${status} documents no body but one was sent`]
    }
    const mediaType = Object.keys(declared.content)[0]!
    return this.bodyProblems(response, `${operationPointer}/content/${escapePointer(mediaType)}/schema`, mediaType)
  }

  private bodyProblems (response: ObservedResponse, schemaPointer: string, mediaType: string): string[] {
    const actualType = response.contentType?.split(';')[0]?.trim()
    if (actualType !== mediaType) return [`content-type is ${actualType}, the document says ${mediaType}`]
    // NDJSON: the schema is each line's.
    if (mediaType === 'application/x-ndjson') {
      return response.body.split('\n').filter((line) => line !== '').flatMap((line, index) => this.bodyProblems({ ...response, contentType: 'application/json', body: line }, schemaPointer, 'application/json').map((problem) => `line ${index}: ${problem}`))
    }
    let body: unknown
    try {
      body = JSON.parse(response.body)
    } catch {
      return ['body is not JSON']
    }
    const validate = this.validator(schemaPointer)
    if (validate(body)) return []
    return (validate.errors ?? []).map((error) => `body${error.instancePath} ${error.message}`)
  }
}
