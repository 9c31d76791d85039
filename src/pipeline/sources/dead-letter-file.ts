/**
 * Reads a pipeline's dead-letter file (runtime/dead-letter.ts) back as records, so `iotd replay dead-letter.jsonl`
 * sends the messages that were refused to a broker again, byte for byte: `payload` (UTF-8 text) or
 * `payloadBase64` (anything else) as the payload, `topic`, `qos` and `retain` as they arrived, `ts` as the time.
 * A row a rule made (no payload, only `fields`) is sent as its JSON. Entries without a topic are counted as bad
 * rows with their line numbers, like any unusable row of a replay.
 */
import {closeSync, createReadStream, openSync, readSync, statSync} from 'node:fs'
import {readLineBatches} from '../line-reader.js'
import type {Delivery, PipelineRecord, StageContext} from '../types.js'
import {NOOP_ACK} from '../types.js'
import type {BadRow} from './csv.js'

interface DeadLetterLine {
  stage?: unknown
  reason?: unknown
  record?: {ts?: unknown; topic?: unknown; qos?: unknown; retain?: unknown; payload?: unknown; payloadBase64?: unknown; fields?: unknown; properties?: unknown}
}

/** Whether a file looks like a dead-letter file: its first line is a JSON object with `stage` and `reason`. */
export function isDeadLetterFile(path: string): boolean {
  if (path === '-') return false
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const buf = Buffer.alloc(64 * 1024)
    const n = readSync(fd, buf, 0, buf.length, 0)
    const first = buf.toString('utf8', 0, n).split('\n', 1)[0].trim()
    if (!first.startsWith('{')) return false
    const line = JSON.parse(first) as DeadLetterLine
    return typeof line.stage === 'string' && typeof line.reason === 'string'
  } catch {
    return false
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

export class DeadLetterFileSource {
  bytesRead = 0
  readonly totalBytes: number | undefined
  readonly shape = 'dead-letter' as const
  readonly stats: {badRows: BadRow[]; badReasons: Record<string, number>} = {badRows: [], badReasons: {}}

  constructor(
    readonly name: string,
    private readonly path: string,
  ) {
    this.totalBytes = statSync(path).size
  }

  async *readBatches(ctx: StageContext): AsyncIterable<readonly Delivery[]> {
    const stream = createReadStream(this.path, {highWaterMark: 256 * 1024})
    let lineNo = 0
    try {
      for await (const lines of readLineBatches(stream, ctx.signal)) {
        const batch: Delivery[] = []
        for (const text of lines) {
          lineNo++
          this.bytesRead += Buffer.byteLength(text) + 1
          if (text.trim() === '') continue
          const record = this.toRecord(text, lineNo)
          if (record) batch.push({record, ack: NOOP_ACK})
        }
        if (batch.length > 0) yield batch
      }
    } finally {
      stream.destroy()
    }
  }

  async close(): Promise<void> {}

  private toRecord(text: string, lineNo: number): PipelineRecord | undefined {
    let line: DeadLetterLine
    try {
      line = JSON.parse(text) as DeadLetterLine
    } catch {
      return this.bad(lineNo, 'not a JSON line')
    }
    const r = line.record
    if (!r || typeof r.topic !== 'string' || r.topic === '') return this.bad(lineNo, 'no topic to publish to', typeof line.stage === 'string' ? ` (${line.stage})` : '')
    let payload: Buffer
    if (typeof r.payloadBase64 === 'string') payload = Buffer.from(r.payloadBase64, 'base64')
    else if (typeof r.payload === 'string') payload = Buffer.from(r.payload, 'utf8')
    else if (r.fields !== undefined) payload = Buffer.from(JSON.stringify(r.fields))
    else return this.bad(lineNo, 'no payload or fields')
    const ts = typeof r.ts === 'number' && Number.isFinite(r.ts) ? r.ts : Date.now()
    const record: PipelineRecord = {ts, topic: r.topic, payload, meta: {source: this.name, topic: r.topic, position: `${this.path} line ${lineNo}`}}
    if (r.qos === 0 || r.qos === 1 || r.qos === 2) record.meta.qos = r.qos
    if (r.retain === true) record.meta.retain = true
    if (r.properties && typeof r.properties === 'object') record.meta.properties = r.properties as Record<string, unknown>
    return record
  }

  private bad(row: number, reason: string, detail = ''): undefined {
    this.stats.badReasons[reason] = (this.stats.badReasons[reason] ?? 0) + 1
    if (this.stats.badRows.length < 20) this.stats.badRows.push({row, reason: reason + detail})
    return undefined
  }
}
