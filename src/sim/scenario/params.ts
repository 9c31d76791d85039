import {isUtf8} from 'node:buffer'
import {readFileSync} from 'node:fs'
import {parse as parseCsv} from 'csv-parse/sync'
import {z} from 'zod'
import {firstInvalidUtf8} from '../../config/text-file.js'
import {alwaysNumber, fieldSchema} from '../generators/generator-schema.js'
import type {ParamRef} from '../generators/device-params.js'

/**
 * A character per device: a fleet's `params:` are drawn once per device from generator kinds (the kind's first
 * value, e.g. `{kind: gaussian, mean: 65, stddev: 3}`), from a stream keyed (seed, fleet, device index, param name),
 * so a device keeps its params and a fleet can grow without changing anyone's. A device's params are template
 * placeholders (`{params.base}` in topics, ids, vars, payloads and constant fields) and stand for numbers in any
 * numeric generator argument (`mean: "{params.base}"`).
 *
 * The numeric references are taken out of the document before the schema reads it (`prepareParamRefs`, the
 * loader's prepare hook): each is replaced by a stand-in number (the param's typical value), so the generator's
 * checks run as they would on a device, and its place is remembered (`paramRefs` of the fleet). Each device's
 * model then puts its own value there (`withDeviceParams`).
 */

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export const paramsSchema = z
  .record(z.string().regex(NAME, 'a param name must be an identifier (letters, digits, _)'), fieldSchema)
  .meta({
    description:
      'Per-device values drawn once from a generator kind (its first value), e.g. {base: {kind: gaussian, mean: 65, stddev: 3}}; {params.base} in templates and numeric generator arguments.',
  })


const REF = /^\s*\{params\.([A-Za-z_][A-Za-z0-9_]*)\}\s*$/

/** The written form of a numeric param reference, as a JSON Schema pattern (json-schema.ts). */
export const PARAM_REF_PATTERN = REF.source

/** A param's typical value, the stand-in the schema checks: its mean, value, midpoint, first value or start. */
function typical(spec: unknown): number {
  if (typeof spec === 'number') return spec
  if (spec === null || typeof spec !== 'object') return 0
  const o = spec as Record<string, unknown>
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined)
  const values = Array.isArray(o.values) ? o.values.find((v) => typeof v === 'number') : undefined
  const mid = num(o.min) !== undefined && num(o.max) !== undefined ? ((o.min as number) + (o.max as number)) / 2 : undefined
  return num(o.mean) ?? num(o.value) ?? mid ?? num(values) ?? num(o.start) ?? num(o.min) ?? 0
}

/**
 * The loader's prepare hook: returns the document with every numeric `{params.x}` reference in a fleet's fields
 * replaced by its stand-in (the input is not changed), and the references found, per fleet index.
 */
export function prepareParamRefs(raw: unknown, registryRow?: (fleetIndex: number) => Record<string, unknown> | undefined): {prepared: unknown; refs: Map<number, ParamRef[]>} {
  const refs = new Map<number, ParamRef[]>()
  const doc = raw as {fleets?: unknown}
  if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.fleets)) return {prepared: raw, refs}
  const fleets = doc.fleets.map((fleet: unknown, i: number) => {
    if (fleet === null || typeof fleet !== 'object') return fleet
    const f = fleet as {params?: unknown; fields?: unknown}
    if (f.fields === null || typeof f.fields !== 'object') return fleet
    // A registry's columns are params too: their first row stands in for them.
    const params = {...(registryRow?.(i) ?? {}), ...(f.params !== null && typeof f.params === 'object' ? (f.params as Record<string, unknown>) : {})}
    const found: ParamRef[] = []
    // Generator objects only: a bare string field is a constant template, rendered per device as it is.
    const fields = Object.fromEntries(
      Object.entries(f.fields as Record<string, unknown>).map(([name, spec]) => [name, spec !== null && typeof spec === 'object' && !Array.isArray(spec) ? substitute(spec as Record<string, unknown>, [name], params, found) : spec]),
    )
    if (found.length === 0) return fleet
    refs.set(i, found)
    return {...f, fields}
  })
  return {prepared: {...doc, fleets}, refs}
}

function substitute(spec: Record<string, unknown>, at: Array<string | number>, params: Record<string, unknown>, found: ParamRef[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(spec)) {
    const m = typeof value === 'string' && key !== 'expr' && key !== 'kind' ? REF.exec(value) : null
    // A constant's value is a template too: a text param there renders per device instead of standing for a number.
    if (m && key === 'value' && spec.kind === 'constant' && !alwaysNumber(params[m[1]])) {
      out[key] = value
    } else if (m) {
      found.push({path: [...at, key], param: m[1]})
      out[key] = typical(params[m[1]])
    } else if (key === 'byMode' && value !== null && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([mode, o]) => [mode, o !== null && typeof o === 'object' ? substitute(o as Record<string, unknown>, [...at, 'byMode', mode], params, found) : o]))
    } else {
      out[key] = value
    }
  }
  return out
}

/** Columns of a device table that name the device rather than describe it (what `iotd sim registry` writes first). */
const IDENTITY_COLUMNS = new Set(['deviceId', 'fleet', 'index', 'protocol', 'clientId', 'topic'])

export type RegistryRow = Record<string, string | number | boolean>

/** The file and line each row of a table was read from, so a check of its cells can point there (params-checks.ts). */
const ROW_SOURCES = new WeakMap<RegistryRow, {file: string; line: number}>()

export function registryRowSource(row: RegistryRow | undefined): {file: string; line: number} | undefined {
  return row === undefined ? undefined : ROW_SOURCES.get(row)
}

/** A CSV cell is a number only when it is the number's own text ("42", "-1.5"); "007", "1e3" or " 42 " stay text. */
function csvCell(cell: string): string | number {
  const n = Number(cell)
  return cell !== '' && Number.isFinite(n) && String(n) === cell ? n : cell
}

type Failure = {error: string}
type Records = Array<{record: Record<string, unknown>; line: number}>

/**
 * A fleet's `registry:` file (CSV with a header, or JSON lines): per device index, the params its columns give. A row
 * with an `index` column belongs to that device, otherwise rows go to devices in order. JSON lines keep their JSON
 * types (a string "007" stays text, true stays a boolean); a CSV cell is a number only when written as the number
 * itself, so what `iotd sim registry` wrote reads back as it was. A table that cannot be read is one error, at the
 * file and line where it goes wrong.
 */
export function readRegistryTable(path: string): {rows: RegistryRow[]} | Failure {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (error) {
    return {error: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`}
  }
  const text = tableText(path, bytes)
  if (typeof text !== 'string') return text
  const jsonl = /\.jsonl?$/i.test(path)
  const records = jsonl ? jsonLines(path, text) : csvRecords(path, text)
  if (!Array.isArray(records)) return records
  const rows: RegistryRow[] = []
  const lines = new Map<number, number>()
  for (const [k, {record, line}] of records.entries()) {
    const at = record.index !== undefined && record.index !== '' ? Number(record.index) : k
    const row: RegistryRow = {}
    for (const [name, value] of Object.entries(record)) {
      if (IDENTITY_COLUMNS.has(name)) continue
      if (typeof value === 'string') row[name] = jsonl ? value : csvCell(value)
      else if (typeof value === 'number' || typeof value === 'boolean') row[name] = value
      else return {error: `${path}:${line}: column "${name}" is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object'}: a device table holds text, numbers and true/false`}
    }
    if (!Number.isInteger(at) || at < 0) return {error: `${path}:${line}: index ${JSON.stringify(record.index)} is not a device index (0, 1, 2, ...)`}
    // Without this, the second row replaced the first and the device it left out was reported as missing.
    const first = lines.get(at)
    if (first !== undefined) return {error: `${path}:${line}: index ${at} appears twice (lines ${first} and ${line}); each device has one row`}
    lines.set(at, line)
    ROW_SOURCES.set(row, {file: path, line})
    rows[at] = row
  }
  return {rows}
}

/**
 * The table's text, or why it is none: a binary file (a NUL byte) or text in another encoding would otherwise be
 * parsed as CSV and refused for its shape, far from the cause. A UTF-8 byte order mark (spreadsheets write one) is
 * dropped, so the first column keeps its name.
 */
function tableText(path: string, bytes: Buffer): string | Failure {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return {error: `${path} is UTF-16 text: save the table as UTF-8`}
  const nul = bytes.indexOf(0)
  if (nul >= 0) return {error: `${place(path, bytes, nul)}: not a text file (a NUL byte here, as in binary data): a device table is CSV with a header, or JSON lines`}
  if (!isUtf8(bytes)) {
    let bad = firstInvalidUtf8(bytes)
    // Whole but for a character cut at the end: the fault is that character's first byte.
    if (bad >= bytes.length) for (bad = bytes.length - 1; bad > 0 && (bytes[bad] & 0xc0) === 0x80; ) bad--
    return {error: `${place(path, bytes, bad)}: not a UTF-8 text file (byte 0x${bytes[bad].toString(16).padStart(2, '0')} here is not UTF-8): save the table as UTF-8`}
  }
  const text = bytes.toString('utf8')
  return text.startsWith('\uFEFF') ? text.slice(1) : text
}

/** `file:line:col` of a byte of the file (the column in characters). */
function place(path: string, bytes: Buffer, offset: number): string {
  let line = 1
  for (let i = bytes.indexOf(0x0a); i >= 0 && i < offset; i = bytes.indexOf(0x0a, i + 1)) line++
  const lineStart = offset === 0 ? 0 : bytes.lastIndexOf(0x0a, offset - 1) + 1
  return `${path}:${line}:${bytes.subarray(lineStart, offset).toString('utf8').length + 1}`
}

function jsonLines(path: string, text: string): Records | Failure {
  const records: Records = []
  const lines = text.split('\n')
  for (let k = 0; k < lines.length; k++) {
    if (!lines[k].trim()) continue
    let record: unknown
    try {
      record = JSON.parse(lines[k])
    } catch (error) {
      // V8 says "... in JSON at position 12" (and newer Nodes add "(line 1 column 13)"): the position becomes the column.
      const m = /^(.*?)(?: in JSON)? at position (\d+)(?: \(line \d+ column \d+\))?$/.exec((error as Error).message)
      return {error: `${path}:${k + 1}${m ? `:${Number(m[2]) + 1}` : ''}: not valid JSON (${m ? m[1] : (error as Error).message})`}
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      const what = record === null ? 'null' : Array.isArray(record) ? 'an array' : `a ${typeof record}`
      return {error: `${path}:${k + 1}: a JSON line must be an object ({"column": value, ...}), not ${what}`}
    }
    records.push({record: record as Record<string, unknown>, line: k + 1})
  }
  return records
}

/** Most names of a header a message lists; a wide table's are cut. */
const HEADER_NAMES_SHOWN = 8

function csvRecords(path: string, text: string): Records | Failure {
  let parsed: Array<{record: string[]; info: {lines: number}}>
  try {
    // Rows of another length are parsed too, so the message can say which row and how it differs from the header.
    parsed = parseCsv(text, {skip_empty_lines: true, relax_column_count: true, info: true}) as unknown as typeof parsed
  } catch (error) {
    return {error: csvFailure(path, text, error as Error & {code?: string; lines?: number})}
  }
  if (parsed.length === 0) return []
  const [{record: written, info: headerInfo}, ...body] = parsed
  // A hand-written header's "index, offset, site" means the columns index, offset and site.
  const header = written.map((name) => name.trim())
  const headerLine = headerInfo.lines
  const separator = header.length === 1 ? OTHER_SEPARATORS.find(([c]) => header[0].includes(c)) : undefined
  if (separator) {
    return {error: `${path}:${headerLine}: the header is one column ${JSON.stringify(header[0])}: the table must be comma-separated, not ${separator[1]} (a spreadsheet's "CSV (comma delimited)")`}
  }
  const twice = header.find((name, i) => header.indexOf(name) !== i)
  // Without this the last of the two won, and the column it hid was reported as unknown wherever it was used.
  if (twice !== undefined) return {error: `${path}:${headerLine}: column ${JSON.stringify(twice)} appears twice`}
  const uneven = body.filter((r) => r.record.length !== header.length)
  if (uneven.length > 0) {
    const [{record, info}, ...others] = uneven
    const names = header.length > HEADER_NAMES_SHOWN ? [...header.slice(0, HEADER_NAMES_SHOWN), '…'] : header
    const lines = others.slice(0, 5).map((r) => r.info.lines).join(', ') + (others.length > 5 ? ', …' : '')
    const also = others.length === 0 ? '' : `; ${others.length} more row${others.length === 1 ? ' does' : 's do'} not match the header either (line${others.length === 1 ? '' : 's'} ${lines})`
    return {error: `${path}:${info.lines}: this row has ${cells(record.length)} where the header has ${header.length} (${names.join(', ')})${also}`}
  }
  return body.map(({record, info}) => ({record: Object.fromEntries(header.map((name, i) => [name, record[i]])), line: info.lines}))
}

/** Separators a spreadsheet may write instead of commas (by locale or by choice), as a message names them. */
const OTHER_SEPARATORS: Array<[string, string]> = [
  [';', 'semicolon-separated'],
  ['\t', 'tab-separated'],
  ['|', 'separated by |'],
]

const cells = (n: number) => `${n} cell${n === 1 ? '' : 's'}`

/** csv-parse's error, said at the line it concerns; an unclosed quote at the line where it opens, not the file's end. */
function csvFailure(path: string, text: string, error: Error & {code?: string; lines?: number}): string {
  const at = error.lines === undefined ? path : `${path}:${error.lines}`
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED': {
      const open = unclosedQuote(text)
      return open ? `${path}:${open.line}:${open.col}: this quote opens a cell that is never closed (the file ends inside it)` : `${path}: a quoted cell is never closed (the file ends inside it)`
    }
    case 'INVALID_OPENING_QUOTE':
    case 'CSV_INVALID_OPENING_QUOTE':
      return `${at}: a quote inside a cell that does not start with one; put the whole cell in quotes and double the quotes inside it ("say ""hi""")`
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `${at}: a quoted cell goes on after its closing quote; double the quotes inside a quoted cell ("say ""hi""")`
    default:
      return `${at}: not CSV (${error.message.length > 200 ? `${error.message.slice(0, 200)}…` : error.message})`
  }
}

/** Where the quote that is still open at the end of the text opens (a quote opens a cell only at its start). */
function unclosedQuote(text: string): {line: number; col: number} | undefined {
  let line = 1
  let col = 1
  let cellStart = true
  let open: {line: number; col: number} | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (open && c === '"') {
      // A doubled quote inside a quoted cell is a quote character.
      if (text[i + 1] === '"') {
        i++
        col += 2
        continue
      }
      open = undefined
    } else if (!open && c === '"' && cellStart) {
      open = {line, col}
      cellStart = false
    } else if (!open) {
      cellStart = c === ',' || c === '\n' || c === '\r'
    }
    if (c === '\n') {
      line++
      col = 1
    } else {
      col++
    }
  }
  return open
}
