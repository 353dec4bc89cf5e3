import { DomainError } from '../common/errors.ts'

/** RFC 7644 §3.12's error kinds of a request the service understood but cannot apply (all 400). */
export type ScimType = 'invalidFilter' | 'invalidValue' | 'invalidPath' | 'noTarget' | 'mutability' | 'invalidSyntax' | 'tooMany'

/** A SCIM request that is wrong in a way SCIM names: the filter, a PATCH operation, a value. */
export class ScimRequestError extends DomainError {
  override name = 'ScimRequestError'
  readonly scimType: ScimType
  constructor (scimType: ScimType, detail: string) {
    super(detail)
    this.scimType = scimType
  }
}

/** Groups are the roles: they exist as they are, and only their members change. */
export class FixedGroupsError extends DomainError {
  override name = 'FixedGroupsError'
  constructor () {
    super('Groups are the roles admin and user: they cannot be created, renamed or deleted, only their members change.')
  }
}

export class GroupNotFoundError extends DomainError {
  override name = 'GroupNotFoundError'
  constructor (id: string) {
    super(`No group with id ${id}.`)
  }
}
