/** The kinds of change the feed and the webhooks tell of (as `users.<kind>` on the wire). */
export const EVENT_TYPES = [
  'user.created', 'user.updated', 'user.deleted', 'user.disabled', 'user.enabled',
  'user.password_changed', 'user.email_verified', 'session.created', 'session.revoked',
  'client.created', 'client.updated', 'client.deleted',
  'user.factor_added', 'user.factor_removed', 'user.recovery_code_used'
] as const

export type EventType = typeof EVENT_TYPES[number]

/** Who a change is recorded as made by (the CloudEvents extension `actortype`). */
export const ACTOR_TYPES = ['user', 'client', 'system'] as const

export type ActorType = typeof ACTOR_TYPES[number]
