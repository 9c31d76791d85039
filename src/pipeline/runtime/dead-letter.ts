/**
 * The dead letter: undecodable input, rows a sink refused for good, late events (when asked) — written as JSON
 * lines with the stage and the reason, instead of vanishing. Without a file they are counted and the first one is
 * reported on stderr.
 */
import {createWriteStream, type WriteStream} from 'node:fs'
import {once} from 'node:events'
import type {DeadLetterEntry} from '../types.js'

export class DeadLetter {
  count = 0
  readonly byStage = new Map<string, number>()
  private out?: WriteStream
  private failed?: Error
  private warned = false
  readonly file?: string

  constructor(file: string | undefined, private readonly warn: (message: string) => void) {
    this.file = file
    if (file) {
      this.out = createWriteStream(file, {flags: 'a'})
      this.out.on('error', (e) => (this.failed ??= e))
    }
  }

  write(entry: DeadLetterEntry): void {
    this.count++
    this.byStage.set(entry.stage, (this.byStage.get(entry.stage) ?? 0) + 1)
    if (this.out && !this.failed) {
      const line = {
        at: new Date(entry.at).toISOString(),
        stage: entry.stage,
        reason: entry.reason,
        ...(entry.raw !== undefined ? {raw: entry.raw} : {}),
        ...(entry.record
          ? {record: {ts: entry.record.ts, topic: entry.record.topic, source: entry.record.meta.source, position: entry.record.meta.position, fields: entry.record.fields}}
          : {}),
      }
      this.out.write(`${JSON.stringify(line)}\n`)
    } else if (!this.warned) {
      this.warned = true
      const why = this.failed ? `the dead-letter file failed (${this.failed.message})` : 'no deadLetter file is configured'
      this.warn(`dead letter (${entry.stage}): ${entry.reason} — ${why}; further entries are only counted`)
    }
  }

  async close(): Promise<void> {
    if (!this.out) return
    this.out.end()
    await once(this.out, 'close').catch(() => undefined)
  }
}
