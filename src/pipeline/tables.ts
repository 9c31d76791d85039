/**
 * `tables:`: static lookup tables (a device registry) loaded once, joined to events with `[LEFT] JOIN`. Joins on
 * `stream expr = table.column` use a hash index built once per (table, column); other ON conditions scan the rows.
 */
import {readFileSync} from 'node:fs'
import {parse} from 'csv-parse/sync'
import {castCell, isPlainObject} from './records.js'

export interface LookupTable {
  name: string
  rows: readonly Record<string, unknown>[]
  columns: readonly string[]
  /** Lazily built indexes: column -> (value as key -> first row with it). */
  index(column: string): Map<string, Record<string, unknown>>
}

export function indexKey(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v)
}

export function createTable(name: string, rows: Record<string, unknown>[]): LookupTable {
  const indexes = new Map<string, Map<string, Record<string, unknown>>>()
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  return {
    name,
    rows,
    columns,
    index(column) {
      let m = indexes.get(column)
      if (!m) {
        m = new Map()
        for (const row of rows) {
          const k = indexKey(row[column])
          if (k !== undefined && !m.has(k)) m.set(k, row)
        }
        indexes.set(column, m)
      }
      return m
    },
  }
}

/** Reads a CSV (header row; numbers and booleans cast) or JSON (array of objects) file; throws a one-line Error. */
export function loadTable(name: string, path: string, format: 'csv' | 'json'): LookupTable {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(code === 'ENOENT' ? `file not found: ${path}` : `cannot read ${path} (${code})`)
  }
  if (format === 'json') {
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch (error) {
      throw new Error(`${path} is not JSON: ${(error as Error).message}`)
    }
    if (!Array.isArray(data) || !data.every(isPlainObject)) throw new Error(`${path} must hold a JSON array of objects`)
    return createTable(name, data)
  }
  let rows: Record<string, unknown>[]
  try {
    rows = parse(text, {columns: true, skip_empty_lines: true, trim: true, cast: (v: string) => castCell(v)}) as Record<string, unknown>[]
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`)
  }
  return createTable(name, rows)
}
