/**
 * How `iotd tail` shows one message. `text` is for people (time, topic in a colour of its own, retained and QoS
 * marks, JSON compact or indented, binary as hex or base64, MQTT 5 properties on a second line); `ndjson`, `csv`
 * (iotd's capture format) and `raw` are for scripts and never carry escape codes.
 */
import type {ChalkInstance} from 'chalk'
import {payloadEncodingOf} from '../capture/format.js'
import {captureHeaderLine, csvCell, csvLine} from '../capture/writer.js'
import {captureRow} from '../capture/format.js'
import {jsonlObject} from '../pipeline/sinks/file.js'
import type {PipelineRecord} from '../pipeline/types.js'
import type {SparkplugObservation} from '../sparkplug/host-session.js'
import {jsonValue} from '../sparkplug/payload.js'

export type TailFormat = 'text' | 'ndjson' | 'csv' | 'raw'
export type JsonStyle = 'auto' | 'pretty' | 'compact'
export type BinaryStyle = 'hex' | 'base64'

export interface TextFormatOptions {
  paint: ChalkInstance
  /** Terminal width: `auto` JSON goes on one line when it fits. */
  columns: number
  json: JsonStyle
  binary: BinaryStyle
  /** Binary payloads longer than this are cut (the length is shown). */
  maxBinaryBytes?: number
}

const TOPIC_COLOURS = ['cyan', 'green', 'yellow', 'magenta', 'blue', 'redBright', 'cyanBright', 'greenBright'] as const

/** The same topic always gets the same colour (a hash, not arrival order), so two terminals agree. */
export function topicColour(topic: string): (typeof TOPIC_COLOURS)[number] {
  let h = 2166136261
  for (let i = 0; i < topic.length; i++) h = Math.imul(h ^ topic.charCodeAt(i), 16777619)
  return TOPIC_COLOURS[(h >>> 0) % TOPIC_COLOURS.length]
}

export function clockTime(ts: number): string {
  const d = new Date(ts)
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

/** One message as text lines (with a trailing newline). `projected` replaces the payload (--fields). */
export function formatText(r: PipelineRecord, o: TextFormatOptions, projected?: Record<string, unknown>): string {
  const c = o.paint
  const topic = r.topic ?? r.meta.topic ?? ''
  const marks = `${r.meta.retain ? c.yellow(' R') : ''}${r.meta.qos ? c.dim(` q${r.meta.qos}`) : ''}`
  const head = `${c.dim(clockTime(r.ts))} ${c[topicColour(topic)](topic)}${marks}`
  const body = projected !== undefined ? json(projected, o, head.length) : payloadText(r, o, visibleLength(`${clockTime(r.ts)} ${topic}${r.meta.retain ? ' R' : ''}${r.meta.qos ? ` q${r.meta.qos}` : ''}`))
  let out = `${head} ${body}\n`
  const props = r.meta.properties
  if (props && Object.keys(props).length > 0) out += `  ${c.dim(`↳ ${formatProperties(props)}`)}\n`
  return out
}

/**
 * A Sparkplug B message for people: type, group/node[/device], seq and bdSeq, then `name=value units` per metric
 * (names from the births; an alias the host has no birth for shows as #alias), and the host checks' findings.
 */
export function formatSparkplugText(r: PipelineRecord, o: SparkplugObservation, t: TextFormatOptions): string {
  const c = t.paint
  const head = `${c.dim(clockTime(r.ts))} ${c[topicColour(r.topic ?? '')](r.topic ?? '')}`
  let body: string
  if (o.kind === 'state') body = `${c.bold('STATE')} ${o.host} ${o.online ? c.green('online') : c.red('offline')}`
  else if (o.kind === 'undecodable') body = c.red('(not a Sparkplug B payload)')
  else {
    const seq = o.payload.seq !== undefined ? ` ${c.dim('seq')} ${o.payload.seq}` : ''
    const bd = o.bdSeq !== undefined ? ` ${c.dim('bdSeq')} ${o.bdSeq}` : ''
    const metrics = o.payload.metrics
      .filter((m) => m.name !== 'bdSeq' || o.bdSeq === undefined)
      .map((m) => {
        const v = jsonValue(m.value)
        const value = typeof m.value === 'bigint' ? String(m.value) : typeof v === 'string' || (v !== null && typeof v === 'object') ? JSON.stringify(v) : String(v)
        const type = o.type.endsWith('BIRTH') && m.datatype ? c.dim(`:${m.datatype}`) : ''
        return `${c.cyan(m.name ?? `#${m.alias}`)}${type}=${c.yellow(value)}${m.units ? ` ${m.units}` : ''}`
      })
    body = `${c.bold(o.type)}${seq}${bd}${metrics.length > 0 ? `  ${metrics.join('  ')}` : ''}`
  }
  let out = `${head} ${body}\n`
  for (const p of o.problems) out += `  ${c.red(`↳ ${p.kind}: ${p.message}`)}\n`
  return out
}

function payloadText(r: PipelineRecord, o: TextFormatOptions, headWidth: number): string {
  const c = o.paint
  const payload = r.payload ?? Buffer.from(JSON.stringify(r.fields ?? null))
  if (payload.length === 0) return c.dim('(empty)')
  if (r.fields !== undefined && typeof r.fields !== 'string') return json(r.fields, o, headWidth)
  if (payloadEncodingOf(payload) === 'utf8') return payload.toString('utf8').replace(/\r?\n/g, '\n  ')
  const max = o.maxBinaryBytes ?? 64
  const shown = payload.subarray(0, max)
  const text = o.binary === 'hex' ? (shown.toString('hex').match(/.{1,2}/g) ?? []).join(' ') : shown.toString('base64')
  const more = payload.length > max ? ` … (${payload.length} bytes)` : ''
  return `${c.magenta(`<${payload.length} bytes ${o.binary}>`)} ${text}${c.dim(more)}`
}

function json(value: unknown, o: TextFormatOptions, headWidth: number): string {
  const compact = JSON.stringify(value)
  if (o.json === 'compact' || (o.json === 'auto' && headWidth + 1 + compact.length <= o.columns)) return colourJson(compact, o.paint)
  return colourJson(JSON.stringify(value, null, 2), o.paint).replace(/\n/g, '\n  ')
}

/** Keys dim-cyan, strings green, numbers yellow: enough to scan a payload; a no-colour paint returns it as is. */
function colourJson(text: string, c: ChalkInstance): string {
  if (c.level === 0) return text
  return text.replace(/("(?:[^"\\]|\\.)*")(\s*:)?|\b(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\b|\b(true|false|null)\b/g, (m, str: string | undefined, colon: string | undefined, num: string | undefined, lit: string | undefined) => {
    if (str !== undefined) return colon ? c.cyan(str) + colon : c.green(str)
    if (num !== undefined) return c.yellow(num)
    if (lit !== undefined) return c.magenta(lit)
    return m
  })
}

function formatProperties(p: Record<string, unknown>): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(p)) {
    if (k === 'userProperties' && v && typeof v === 'object') {
      for (const [uk, uv] of Object.entries(v as Record<string, unknown>)) parts.push(`${uk}=${Array.isArray(uv) ? uv.join('|') : String(uv)}`)
    } else parts.push(`${k}=${Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
  }
  return parts.join('  ')
}

function visibleLength(s: string): number {
  return s.length
}

/** One NDJSON line: always valid JSON whatever the payload (binary goes as base64 with `"encoding":"base64"`). */
export function formatNdjson(r: PipelineRecord, projected?: Record<string, unknown>): string {
  const topic = r.topic ?? r.meta.topic ?? ''
  if (projected) return `${JSON.stringify({ts: new Date(r.ts).toISOString(), topic, ...projected})}\n`
  return `${JSON.stringify(jsonlObject(r, topic, r.payload ?? Buffer.from(JSON.stringify(r.fields ?? null))))}\n`
}

/** CSV: the capture format (so `tail --format csv > x.csv` replays), or ts,topic + the --fields columns. */
export function csvHeader(fields: readonly string[] | undefined, properties: boolean): string {
  return fields ? csvLine(['ts', 'topic', ...fields]) : captureHeaderLine(properties)
}

export function formatCsv(r: PipelineRecord, properties: boolean, projected?: Record<string, unknown>): string {
  const topic = r.topic ?? r.meta.topic ?? ''
  if (projected) {
    let line = `${new Date(r.ts).toISOString()},${csvCell(topic)}`
    for (const v of Object.values(projected)) line += `,${csvCell(v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v))}`
    return `${line}\n`
  }
  const payload = r.payload ?? Buffer.from(JSON.stringify(r.fields ?? null))
  return csvLine(captureRow({tsMs: r.ts, topic, qos: r.meta.qos ?? 0, retain: r.meta.retain ?? false, payload, properties: r.meta.properties}, properties))
}

/** raw: the payload bytes and a newline, as mosquitto_sub prints them. */
export function formatRaw(r: PipelineRecord): Buffer {
  const payload = r.payload ?? Buffer.from(JSON.stringify(r.fields ?? null))
  return Buffer.concat([payload, NEWLINE])
}

const NEWLINE = Buffer.from('\n')

