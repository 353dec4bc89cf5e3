/**
 * The rows of a statement run with `db.execute`, whichever driver ran it: postgres.js
 * answers with the rows themselves, PGlite with an object that holds them. Values come
 * as the drivers give them (timestamps as text: drizzle turns off their parsing).
 */
export function rowsOf<Row> (result: unknown): Row[] {
  return Array.isArray(result) ? result as Row[] : (result as { rows: Row[] }).rows
}
