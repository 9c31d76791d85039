/**
 * JSON lines -> deliveries, shared by the `file` and `stdin` sources. A line is either the payload itself
 * (`{"deviceId":"a","temp":21}`) or, with `layout: capture`, iotd's capture envelope
 * (`{"ts":…,"topic":…,"qos":…,"retain":…,"payload":"<text>"}`, what `iotd sim --backfill x.jsonl` writes), whose
 * payload is decoded as JSON when it is JSON. `auto` (default) recognises the envelope by its keys.
 */
import {decodeJson, isPlainObject, makeRecord, toEpochMs} from '../records.js'
import {arrivalNow, NOOP_ACK, type Delivery, type StageContext} from '../types.js'

export type JsonLayout = 'auto' | 'payload' | 'capture'

export interface JsonLinesOptions {
  source: string
  /** For messages: `data.jsonl` or `stdin`. */
  origin: string
  layout: JsonLayout
  topic?: string
}

function isEnvelope(v: Record<string, unknown>): boolean {
  return typeof v.topic === 'string' && 'payload' in v && 'ts' in v
}

/** Decodes one batch of lines; undecodable lines go to the dead letter and are skipped. */
export function decodeJsonLines(lines: readonly string[], firstLine: number, opts: JsonLinesOptions, ctx: StageContext): Delivery[] {
  const out: Delivery[] = []
  const now = Date.now()
  const arrivedAt = arrivalNow()
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === '')) continue
    const decoded = decodeJson(line)
    const position = `${opts.origin} line ${firstLine + i}`
    if (!decoded.ok) {
      ctx.deadLetter({stage: `source:${opts.source}`, reason: `${position}: ${decoded.reason}`, raw: line, at: now})
      continue
    }
    let fields = decoded.fields
    let ts = now
    let topic = opts.topic
    let qos: 0 | 1 | 2 | undefined
    let retain: boolean | undefined
    if (opts.layout !== 'payload' && isPlainObject(fields) && (opts.layout === 'capture' || isEnvelope(fields))) {
      const env = fields
      const t = toEpochMs(env.ts)
      if (t === undefined) {
        ctx.deadLetter({stage: `source:${opts.source}`, reason: `${position}: capture line without a valid ts`, raw: line, at: now})
        continue
      }
      ts = t
      topic = typeof env.topic === 'string' ? env.topic : topic
      qos = env.qos === 0 || env.qos === 1 || env.qos === 2 ? env.qos : undefined
      retain = env.retain === true || env.retain === 1
      fields = typeof env.payload === 'string' ? decodePayloadText(env.payload) : env.payload
    }
    const record = makeRecord(ts, fields, {source: opts.source, topic, qos, retain, position, arrivedAt})
    out.push({record, ack: NOOP_ACK})
  }
  return out
}

/** A payload as text: JSON when it parses, the string otherwise (SQL then sees no fields). */
function decodePayloadText(text: string): unknown {
  const c = text.charCodeAt(0)
  if (c === 123 || c === 91) {
    const d = decodeJson(text)
    if (d.ok) return d.fields
  }
  return text
}
