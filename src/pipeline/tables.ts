/**
 * `tables:`: lookup tables (a device registry) read from a file, joined to events with `[LEFT] JOIN`; read again when the
 * file changes (runtime/table-reload.ts). Joins on
 * `stream expr = table.column` use a hash index built once per (table, column); other ON conditions scan the rows.
 */
import {readFileSync} from 'node:fs'
import {parse} from 'csv-parse/sync'
import {castCell, isPlainObject} from './records.js'

export interface LookupTable {
  name: string
  readonly rows: readonly Record<string, unknown>[]
  readonly columns: readonly string[]
  /** Changes with every replace(): a join that kept an index takes it again. */
  readonly version: number
  /** Lazily built indexes: column -> (value as key -> first row with it). */
  index(column: string): Map<string, Record<string, unknown>>
  /** New contents (the file was read again); joins see them from the next event on. */
  replace(rows: Record<string, unknown>[]): void
}

export function indexKey(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v)
}

function columnsOf(rows: readonly Record<string, unknown>[]): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r)))]
}

export function createTable(name: string, initial: Record<string, unknown>[]): LookupTable {
  let rows = initial
  let columns = columnsOf(rows)
  let indexes = new Map<string, Map<string, Record<string, unknown>>>()
  let version = 0
  return {
    name,
    get rows() {
      return rows
    },
    get columns() {
      return columns
    },
    get version() {
      return version
    },
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
    replace(next) {
      rows = next
      columns = columnsOf(next)
      indexes = new Map()
      version++
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
