/**
 * `type: stdin`: NDJSON or CSV (header row) on standard input, so a pipeline can sit in a shell pipe
 * (`iotd sim … --backfill x.jsonl && cat x.jsonl | iotd pipeline run flow.yaml`). Finite: EOF flushes windows.
 *
 * A restart: standard input redirected from a file (`< x.jsonl`) is read again like a file, skipping what the
 * interrupted run took (resumable). A pipe or a terminal cannot be read again: what the run reads goes to the input
 * log first, so a restart replays what came after the last checkpoint, then reads its own standard input from
 * where that begins (give it the rest of the stream, not the whole stream again).
 */
import {fstatSync} from 'node:fs'
import type {Readable} from 'node:stream'
import {parse} from 'csv-parse'
import {z} from 'zod'
import {castCell, makeRecord} from '../records.js'
import {readLineBatches} from '../line-reader.js'
import {arrivalNow, NOOP_ACK, defineSource, type Delivery, type StageContext} from '../types.js'
import {decodeJsonLines} from './jsonl-decode.js'

const options = z.strictObject({
  format: z.enum(['ndjson', 'csv']).default('ndjson').meta({description: 'ndjson: one JSON object per line; csv: a header row, then rows (numbers and true/false are cast).'}),
  layout: z.enum(['auto', 'payload', 'capture']).default('auto').meta({description: 'ndjson only: as for the file source.'}),
  topic: z.string().optional().meta({description: 'Topic given to every record when lines carry none.'}),
})

/** Tests and `pipeline test` hand in their own stream; the CLI reads process.stdin. */
let stdinOverride: Readable | undefined
export function setStdinForTests(stream: Readable | undefined): void {
  stdinOverride = stream
}

export const stdinSource = defineSource({
  type: 'stdin',
  summary: 'NDJSON or CSV lines on standard input.',
  options,
  finite: true,
  resumable: () => stdinOverride === undefined && stdinIsFile(),
  example: {type: 'stdin', format: 'ndjson', timestamp: 'ts'},
  create(opts, name) {
    return {
      name,
      async *readBatches(ctx: StageContext): AsyncIterable<readonly Delivery[]> {
        const input = stdinOverride ?? process.stdin
        if (opts.format === 'ndjson') {
          let line = 1
          for await (const lines of readLineBatches(input, ctx.signal)) {
            const batch = decodeJsonLines(lines, line, {source: name, origin: 'stdin', layout: opts.layout, topic: opts.topic}, ctx)
            line += lines.length
            if (batch.length > 0) yield batch
          }
          return
        }
        const parser = input.pipe(parse({columns: true, cast: (v) => castCell(v), relax_column_count: true, skip_empty_lines: true, trim: true}))
        let row = 1
        let batch: Delivery[] = []
        for await (const fields of parser as AsyncIterable<Record<string, unknown>>) {
          row++
          if (ctx.signal.aborted) break
          const now = Date.now()
          batch.push({record: makeRecord(now, fields, {source: name, topic: opts.topic, position: `stdin row ${row}`, arrivedAt: arrivalNow()}), ack: NOOP_ACK})
          if (batch.length >= 256) {
            yield batch
            batch = []
          }
        }
        if (batch.length > 0) yield batch
      },
      async *read(ctx: StageContext): AsyncIterable<Delivery> {
        for await (const batch of this.readBatches!(ctx)) yield* batch
      },
      async close() {},
    }
  },
})

function stdinIsFile(): boolean {
  try {
    return fstatSync(0).isFile()
  } catch {
    return false
  }
}
