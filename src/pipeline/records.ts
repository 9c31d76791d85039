/**
 * Small helpers every source uses to turn input into records: event-time parsing and payload decoding. Decoding
 * never throws; what cannot be decoded comes back as a reason for the dead letter.
 */
import type {PipelineRecord, RecordMeta} from './types.js'

/** Epoch ms from a number (ms), a numeric string or an ISO-8601 string; undefined when it is none of these. */
export function toEpochMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'string') {
    if (value.length === 0) return undefined
    const c = value.charCodeAt(0)
    if (c >= 48 && c <= 57 && /^\d+(\.\d+)?$/.test(value)) return Number(value)
    const t = Date.parse(value)
    return Number.isFinite(t) ? t : undefined
  }
  if (value instanceof Date) return value.getTime()
  return undefined
}

export type Decoded = {ok: true; fields: unknown} | {ok: false; reason: string}

/** A JSON document; objects, arrays and scalars are all accepted (SQL reads fields of objects only). */
export function decodeJson(text: string): Decoded {
  try {
    return {ok: true, fields: JSON.parse(text)}
  } catch (error) {
    return {ok: false, reason: `not JSON: ${(error as Error).message}`}
  }
}

/**
 * Bytes to fields when a source left them undecoded: JSON when the payload looks like a JSON object or array (and
 * an undecodable one is refused), the text otherwise (SQL then reads no fields, `*` selects nothing).
 */
export function decodePayload(payload: Buffer): Decoded {
  let i = 0
  while (i < payload.length && payload[i] <= 32) i++
  const c = payload[i]
  if (c === 123 || c === 91) {
    const d = decodeJson(payload.toString('utf8'))
    return d.ok ? d : {ok: false, reason: `payload is not valid JSON: ${d.reason.replace(/^not JSON: /, '')}`}
  }
  return {ok: true, fields: payload.toString('utf8')}
}

/** Builds a record; `meta.source` is required, everything else optional. */
export function makeRecord(ts: number, fields: unknown, meta: RecordMeta, extra: {topic?: string; key?: string; payload?: Buffer} = {}): PipelineRecord {
  return {ts, topic: extra.topic ?? meta.topic, key: extra.key, payload: extra.payload, fields, meta}
}

/** A plain-object view of a payload for SQL; anything else reads as no fields. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)
}

/** Turns a CSV cell into a number or boolean where it clearly is one (what people mean in sensor CSVs). */
export function castCell(cell: string): unknown {
  if (cell === '') return null
  const c = cell.charCodeAt(0)
  if ((c >= 48 && c <= 57) || c === 45 || c === 46) {
    const n = Number(cell)
    if (Number.isFinite(n) && cell.trim() === cell) return n
  }
  if (cell === 'true') return true
  if (cell === 'false') return false
  return cell
}
