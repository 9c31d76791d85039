/**
 * iotd's CSV capture format, in one place (docs/capture-format.md): RFC 4180, header
 * `ts,topic,qos,retain,encoding,payload[,properties]`. `iotd record` and `iotd sim --backfill` write it (writer.ts),
 * `iotd replay` and the csv source read it (here). Kept free of streams so each rule is a pure, tested function.
 */
import {isUtf8} from 'node:buffer'
import {findTopicFault, isTopicName} from '../net/topic-rules.js'

export const CAPTURE_COLUMNS = ['ts', 'topic', 'qos', 'retain', 'encoding', 'payload'] as const
export const CAPTURE_COLUMNS_WITH_PROPERTIES = [...CAPTURE_COLUMNS, 'properties'] as const

export type PayloadEncoding = 'utf8' | 'base64'

/** One message as the capture format holds it. */
export interface CaptureMessage {
  /** Epoch milliseconds; fractional for µs precision. */
  tsMs: number
  topic: string
  qos: 0 | 1 | 2
  retain: boolean
  payload: Buffer
  /** MQTT 5 properties as MQTT.js names them (userProperties, contentType, ...). */
  properties?: Record<string, unknown>
}

/**
 * A payload is written as text only when a person could read it back: valid UTF-8 with no control characters
 * other than tab, CR and LF. Everything else (NUL, protobuf, images) is base64, so the CSV stays text and the
 * bytes come back exactly.
 */
export function payloadEncodingOf(payload: Buffer): PayloadEncoding {
  if (!isUtf8(payload)) return 'base64'
  for (let i = 0; i < payload.length; i++) {
    const b = payload[i]
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) return 'base64'
  }
  return 'utf8'
}

export function encodePayload(payload: Buffer): {encoding: PayloadEncoding; text: string} {
  const encoding = payloadEncodingOf(payload)
  return {encoding, text: encoding === 'utf8' ? payload.toString('utf8') : payload.toString('base64')}
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Decodes a payload cell; a base64 cell that is not base64 is an error (Buffer.from would silently drop bytes). */
export function decodePayload(text: string, encoding: string): Buffer | string {
  switch (encoding) {
    case 'utf8':
    case 'utf-8':
    case '':
      return Buffer.from(text, 'utf8')
    case 'base64': {
      const compact = text.replace(/\s+/g, '')
      if (compact.length % 4 !== 0 || !BASE64.test(compact)) return `invalid base64 payload`
      return Buffer.from(compact, 'base64')
    }
    case 'hex':
      if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return 'invalid hex payload'
      return Buffer.from(text, 'hex')
    default:
      return `unknown encoding "${encoding}" (utf8, base64 or hex)`
  }
}

/**
 * Capture timestamps are integers in µs or ms since the epoch, told apart by size: 1e14 is 1973 in µs and the
 * year 5138 in ms, so every real capture falls clearly on one side. Returns epoch ms, or an error string.
 */
export function parseCaptureTs(text: string): number | string {
  // The common case (plain digits) without a regex; plainDecimal is exact, the same number as Number().
  let n = text.charCodeAt(0) === 45 ? undefined : plainDecimal(text)
  if (n === undefined) {
    const t = text.trim()
    if (!/^\d+(\.\d+)?$/.test(t)) return `bad timestamp "${clip(t)}" (epoch µs or ms expected)`
    n = Number(t)
  }
  return n >= 1e14 ? n / 1000 : n
}

/** Epoch ms -> the `ts` cell: integer microseconds, so recorded timing keeps sub-millisecond precision. */
export function formatCaptureTsMicros(tsMs: number): string {
  return String(Math.round(tsMs * 1000))
}

/** The row of a message, in CAPTURE_COLUMNS order (plus properties when asked for). */
export function captureRow(m: CaptureMessage, withProperties: boolean, tsCell: (tsMs: number) => string | number = formatCaptureTsMicros): Array<string | number> {
  const {encoding, text} = encodePayload(m.payload)
  const row: Array<string | number> = [tsCell(m.tsMs), m.topic, m.qos, m.retain ? 1 : 0, encoding, text]
  if (withProperties) row.push(m.properties && Object.keys(m.properties).length > 0 ? JSON.stringify(propertiesToJson(m.properties)) : '')
  return row
}

/** Buffers inside properties (correlationData) become {base64: ...} so JSON round-trips them. */
export function propertiesToJson(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(p)) out[k] = Buffer.isBuffer(v) ? {base64: v.toString('base64')} : v
  return out
}

function propertiesFromJson(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(p)) {
    const b64 = v && typeof v === 'object' && !Array.isArray(v) && typeof (v as {base64?: unknown}).base64 === 'string' ? (v as {base64: string}).base64 : undefined
    out[k] = b64 !== undefined ? Buffer.from(b64, 'base64') : v
  }
  return out
}

/** Where each capture column sits in a file's header (a header may order them differently or add columns). */
export interface CaptureLayout {
  ts: number
  topic: number
  qos: number
  retain: number
  encoding: number
  payload: number
  properties: number
  /** Columns a row must have. */
  width: number
}

/** The layout of a header row, or undefined when it is not a capture header. */
export function captureLayoutOf(header: readonly string[]): CaptureLayout | undefined {
  const idx = (name: string) => header.findIndex((h) => h.trim().toLowerCase() === name)
  const layout = {ts: idx('ts'), topic: idx('topic'), qos: idx('qos'), retain: idx('retain'), encoding: idx('encoding'), payload: idx('payload'), properties: idx('properties')}
  if (layout.ts < 0 || layout.topic < 0 || layout.payload < 0) return undefined
  return {...layout, width: header.length}
}

export const DEFAULT_CAPTURE_LAYOUT: CaptureLayout = {ts: 0, topic: 1, qos: 2, retain: 3, encoding: 4, payload: 5, properties: 6, width: 6}

/** Reads one capture row. Returns the message or the reason it is refused (the caller adds the row number). */
export function parseCaptureRow(row: readonly string[], layout: CaptureLayout): CaptureMessage | string {
  // A trailing properties column may be left out (files written before MQTT 5 properties were recorded).
  const least = layout.width - (layout.properties === layout.width - 1 ? 1 : 0)
  const most = Math.max(layout.width, layout.properties + 1)
  if (row.length < least || row.length > most) return `expected ${least} columns, found ${row.length}`
  const ts = parseCaptureTs(row[layout.ts] ?? '')
  if (typeof ts === 'string') return ts
  const topic = row[layout.topic] ?? ''
  if (topic === '') return 'empty topic'
  // topic-rules', which also counts MQTT's 65,535-byte limit in UTF-8 bytes: a longer topic cannot be published.
  const fault = isTopicName(topic) ? undefined : findTopicFault(topic)
  if (fault) return `topic "${clip(topic)}" ${fault.what}: ${fault.why}`
  // The cells iotd writes ('0', '1', 'utf8') are taken as they are; anything else is trimmed and lower-cased first.
  const qosCell = layout.qos >= 0 ? (row[layout.qos] ?? '') : '0'
  const qosWritten = qosCell === '0' || qosCell === '1' || qosCell === '2'
  const qosText = qosWritten ? qosCell : qosCell.trim()
  if (!qosWritten && !/^[012]?$/.test(qosText)) return `bad qos "${clip(qosText)}" (0, 1 or 2)`
  const retainCell = layout.retain >= 0 ? (row[layout.retain] ?? '') : '0'
  const retainWritten = retainCell === '0' || retainCell === '1'
  const retainText = retainWritten ? retainCell : retainCell.trim().toLowerCase()
  if (!retainWritten && !['', '0', '1', 'true', 'false'].includes(retainText)) return `bad retain "${clip(retainText)}" (0 or 1)`
  const encodingCell = layout.encoding >= 0 ? (row[layout.encoding] ?? '') : 'utf8'
  const payload = decodePayload(row[layout.payload] ?? '', encodingCell === 'utf8' ? encodingCell : encodingCell.trim().toLowerCase())
  if (typeof payload === 'string') return payload
  const qos = qosText === '1' ? 1 : qosText === '2' ? 2 : 0
  const message: CaptureMessage = {tsMs: ts, topic, qos, retain: retainText === '1' || retainText === 'true', payload}
  const propsText = layout.properties >= 0 ? (row[layout.properties] ?? '').trim() : ''
  if (propsText) {
    let props: unknown
    try {
      props = JSON.parse(propsText)
    } catch {
      return 'properties is not valid JSON'
    }
    if (!props || typeof props !== 'object' || Array.isArray(props)) return 'properties must be a JSON object'
    message.properties = propertiesFromJson(props as Record<string, unknown>)
  }
  return message
}

/** Whether a UTF-16 unit is a C0 or C1 control, DEL, or U+FFFD (what did not decode). */
function isControl(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0xff_fd
}

export function clip(text: string, max = 40): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text
  // What a message quotes from a file reaches a terminal: control bytes (and what did not decode) are shown escaped.
  let out = ''
  let from = 0
  for (let i = 0; i < cut.length; i++) {
    const c = cut.charCodeAt(i)
    if (!isControl(c)) continue
    out += cut.slice(from, i) + (c === 0xff_fd ? '\\ufffd' : `\\x${c.toString(16).padStart(2, '0')}`)
    from = i + 1
  }
  return from === 0 ? cut : out + cut.slice(from)
}

const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]

/**
 * `-?digits(.digits)?` whose digits make an integer up to 2^53 (a 16-digit epoch µs fits), read by char codes, or
 * undefined for anything else (the caller then takes its general path). Runs once per cell on the CSV hot path,
 * where Number() and a regex were a tenth of the time. Exact: the digits form an integer up to 2^53 and 10^k is
 * exact, so the one division is correctly rounded, the same double Number() returns.
 */
export function plainDecimal(s: string): number | undefined {
  const n = s.length
  if (n === 0 || n > 24) return undefined
  let i = s.charCodeAt(0) === 45 ? 1 : 0
  const first = i
  let value = 0
  let c = s.charCodeAt(i)
  for (; i < n && c >= 48 && c <= 57; c = s.charCodeAt(++i)) value = value * 10 + (c - 48)
  if (i === first) return undefined
  let scale = 0
  if (i < n) {
    if (c !== 46) return undefined
    const fracStart = ++i
    for (c = s.charCodeAt(i); i < n && c >= 48 && c <= 57; c = s.charCodeAt(++i)) value = value * 10 + (c - 48)
    if (i === fracStart || i < n) return undefined
    scale = i - fracStart
  }
  // Past 2^53 the sum is no longer exact; 10^15 is the last power in the table.
  if (value > Number.MAX_SAFE_INTEGER || scale > 15) return undefined
  const v = scale === 0 ? value : value / POWERS_OF_TEN[scale]
  return first === 1 ? -v : v
}
