/**
 * Reading records the API returned. The OpenAPI document marks no field of a response schema
 * required (the backend's output schemas do not say so), and documents no type for a field
 * the server computes, so the generated types have `id?: number` and `unknown`: the console
 * checks such a field where it relies on it instead of assuming it.
 */

/** The id of a record from the API (every record has one: none is a server bug, not a 404). */
export function idOf(record: { id?: number }): number {
  if (typeof record.id !== 'number') throw new Error('API record without an id')
  return record.id
}

/** A field the document types `unknown` (a computed field) read as text: '' when absent. */
export function textOf(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value)
}
