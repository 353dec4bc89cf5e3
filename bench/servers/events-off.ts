/**
 * src/events.ts with recordChanges doing nothing: what users-service writes cost without
 * its outbox (bench/servers/users-service.ts loads it in place of the real module when
 * BENCH_WITHOUT names `events`). Never part of the service.
 */
export * from '../../src/events.js'

export async function recordChanges (): Promise<void> {}
