import type { Database } from './connect.ts'

/**
 * A statement built once per database handle (sent as a named prepared statement):
 * for the lookups every request makes, no SQL building and no re-planning per query.
 */
export function preparedPerDatabase<Statement> (build: (db: Database) => Statement): (db: Database) => Statement {
  const statements = new WeakMap<Database, Statement>()
  return (db) => {
    let statement = statements.get(db)
    if (statement === undefined) {
      statement = build(db)
      statements.set(db, statement)
    }
    return statement
  }
}
