/**
 * The dead letter: undecodable input, rows a sink refused for good, late events (when asked) — written as JSON
 * lines with the stage and the reason, instead of vanishing. Without a file they are counted and the first one is
 * reported on stderr.
 *
 * A line keeps what is needed to send the input back (`iotd replay dead-letter.jsonl`, see dead-letter-file.ts):
 * `record.payload` holds the bytes as they arrived when they are UTF-8 text, `record.payloadBase64` when they are
 * not, beside the topic, event time, QoS and retain flag; rows a rule made carry their `fields`.
 */
import {AppendFile, type FsyncPolicy} from '../state/append-file.js'
import type {DeadLetterEntry, PipelineRecord} from '../types.js'

const utf8 = new TextDecoder('utf-8', {fatal: true})

/** A record as a dead-letter line holds it: the payload bytes exactly (text, or base64 when not UTF-8). */
export function deadLetterRecord(r: PipelineRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {ts: r.ts, topic: r.topic ?? r.meta.topic, source: r.meta.source}
  if (r.meta.position !== undefined) out.position = r.meta.position
  if (r.meta.qos !== undefined) out.qos = r.meta.qos
  if (r.meta.retain) out.retain = true
  if (r.meta.properties !== undefined) out.properties = r.meta.properties
  if (r.payload !== undefined) {
    try {
      out.payload = utf8.decode(r.payload)
    } catch {
      out.payloadBase64 = r.payload.toString('base64')
    }
  }
  if (r.fields !== undefined) out.fields = r.fields
  return out
}

export class DeadLetter {
  count = 0
  readonly byStage = new Map<string, number>()
  private out?: AppendFile
  private failed?: Error
  private warned = false
  readonly file?: string

  /** `fsync`: the policy of the run's input log (a dead-lettered message is acknowledged right after its line). */
  constructor(file: string | undefined, private readonly warn: (message: string) => void, fsync: FsyncPolicy = 'everysec') {
    this.file = file
    if (file) {
      try {
        this.out = new AppendFile(file, fsync)
      } catch (e) {
        this.failed = e as Error
      }
    }
  }

  /**
   * Writes the entry's line before returning (write(2), no buffer in this process): the caller acknowledges the
   * message next, and a process killed in between must not take the line with it.
   */
  write(entry: DeadLetterEntry): void {
    this.count++
    this.byStage.set(entry.stage, (this.byStage.get(entry.stage) ?? 0) + 1)
    if (this.out && !this.failed) {
      const line = {
        at: new Date(entry.at).toISOString(),
        stage: entry.stage,
        reason: entry.reason,
        ...(entry.raw !== undefined ? {raw: entry.raw} : {}),
        ...(entry.record ? {record: deadLetterRecord(entry.record)} : {}),
      }
      try {
        this.out.append(`${JSON.stringify(line)}\n`)
        return
      } catch (e) {
        this.failed = e as Error
      }
    }
    if (!this.warned) {
      this.warned = true
      const why = this.failed ? `the dead-letter file failed (${this.failed.message})` : 'no deadLetter file is configured'
      this.warn(`dead letter (${entry.stage}): ${entry.reason} — ${why}; further entries are only counted`)
    }
  }

  async close(): Promise<void> {
    this.out?.close()
    this.out = undefined
  }
}
