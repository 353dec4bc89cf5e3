/** The one list of roles: the database enum, the API schema and the type all derive from it. */
export const ROLES = ['user', 'admin'] as const

export type Role = typeof ROLES[number]
