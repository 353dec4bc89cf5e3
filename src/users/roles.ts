/** The lists the database enums, the API schemas and the types all derive from. */
export const ROLES = ['user', 'admin'] as const

export type Role = typeof ROLES[number]

/** A disabled user cannot log in, and their sessions and tokens stop working. */
export const STATUSES = ['active', 'disabled'] as const

export type Status = typeof STATUSES[number]
