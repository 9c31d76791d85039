import {readFileSync} from 'node:fs'
import {parse as parseCsv} from 'csv-parse/sync'
import {z} from 'zod'
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

export type RegistryRow = Record<string, string | number>

/** A CSV cell is a number only when it is the number's own text ("42", "-1.5"); "007", "1e3" or " 42 " stay text. */
function csvCell(cell: string): string | number {
  const n = Number(cell)
  return cell !== '' && Number.isFinite(n) && String(n) === cell ? n : cell
}

/**
 * A fleet's `registry:` file (CSV with a header, or JSON lines): per device index, the params its columns give. A row
 * with an `index` column belongs to that device, otherwise rows go to devices in order. JSON lines keep their JSON
 * types (a string "007" stays text); a CSV cell is a number only when written as the number itself, so what
 * `iotd sim registry` wrote reads back as it was.
 */
export function readRegistryTable(path: string): {rows: RegistryRow[]} | {error: string} {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    return {error: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`}
  }
  const jsonl = /\.jsonl?$/i.test(path)
  let records: Array<{record: Record<string, unknown>; line: number}>
  try {
    records = jsonl
      ? text.split('\n').flatMap((l, k) => {
          if (!l.trim()) return []
          let record: unknown
          try {
            record = JSON.parse(l)
          } catch (error) {
            throw new Error(`line ${k + 1}: ${(error as Error).message}`)
          }
          if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new Error(`line ${k + 1}: not a JSON object`)
          return [{record: record as Record<string, unknown>, line: k + 1}]
        })
      : (parseCsv(text, {columns: true, skip_empty_lines: true, info: true}) as Array<{record: Record<string, unknown>; info: {lines: number}}>).map((r) => ({record: r.record, line: r.info.lines}))
  } catch (error) {
    return {error: `${path} is not a device table (CSV with a header, or JSON lines): ${(error as Error).message}`}
  }
  const rows: RegistryRow[] = []
  for (const [k, {record, line}] of records.entries()) {
    const at = record.index !== undefined && record.index !== '' ? Number(record.index) : k
    const row: RegistryRow = {}
    for (const [name, value] of Object.entries(record)) {
      if (IDENTITY_COLUMNS.has(name)) continue
      if (typeof value === 'string') row[name] = jsonl ? value : csvCell(value)
      else if (typeof value === 'number') row[name] = value
      // Params reach templates as text, so true/false is kept as the text JSON wrote.
      else if (typeof value === 'boolean') row[name] = String(value)
      else return {error: `${path}:${line}: column "${name}" is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object'}: a device table holds text, numbers and true/false`}
    }
    if (!Number.isInteger(at) || at < 0) return {error: `${path}:${line}: index ${JSON.stringify(record.index)} is not a device index (0, 1, 2, ...)`}
    rows[at] = row
  }
  return {rows}
}
