import type { ParameterOrJSON, Sql, UnsafeQueryOptions } from 'postgres'

/**
 * drizzle hands postgres.js every statement it was not given a name for with
 * `prepare: false` (drizzle-orm#6096), and postgres.js must then have the server describe
 * a statement with parameters before it can send their values: two round trips for each,
 * so an update of a locked row took six (BEGIN, lock, update, COMMIT) where four do.
 * Prepared (named, kept per connection), a statement is described on its first use on a
 * connection and then costs one round trip. A statement with more parameters than this
 * is a batch: its text changes with the number of rows, its extra round trip is shared
 * by all of them, and preparing each size would only grow what every connection keeps
 * prepared. postgres.js retires a connection after 30 to 60 minutes, and with it what it
 * prepared. A statement the server no longer knows, or whose result type a migration
 * changed, fails once per connection inside a transaction (outside one, postgres.js
 * prepares it again and retries); behind a transaction-mode pooler, the pooler must keep
 * named statements (PgBouncer 1.21 or later with max_prepared_statements set).
 */
const MOST_PARAMETERS_PREPARED = 32

/** Makes the client's `unsafe` prepare every statement with parameters but a batch; returns the client. */
export function preparingStatements<Client extends Pick<Sql, 'unsafe'>> (client: Client): Client {
  const unsafe = client.unsafe.bind(client)
  client.unsafe = ((query: string, parameters: ParameterOrJSON<never>[] = [], options: UnsafeQueryOptions = {}) => {
    const prepare = parameters.length > 0 && parameters.length <= MOST_PARAMETERS_PREPARED
    return unsafe(query, parameters, prepare ? { ...options, prepare } : options)
  }) as Client['unsafe']
  return client
}
