/**
 * `type: file`: a JSON-lines file read to its end (a finite source: its end flushes every window). For CSV files
 * use `type: csv`.
 */
import {createReadStream} from 'node:fs'
import {resolve} from 'node:path'
import {z} from 'zod'
import {IotdError, EXIT_CODES} from '../../errors.js'
import {readLineBatches} from '../line-reader.js'
import {defineSource, type Delivery, type StageContext} from '../types.js'
import {decodeJsonLines} from './jsonl-decode.js'

const options = z.strictObject({
  path: z.string().min(1).meta({description: 'JSON-lines file, relative to the pipeline file.'}),
  layout: z
    .enum(['auto', 'payload', 'capture'])
    .default('auto')
    .meta({description: 'payload: each line is the payload; capture: {ts, topic, qos, retain, payload} envelopes (sim --backfill .jsonl); auto: recognise envelopes.'}),
  topic: z.string().optional().meta({description: 'Topic given to every record (for FROM "topic/filter" rules) when lines carry none.'}),
})

export const fileSource = defineSource({
  type: 'file',
  summary: 'A JSON-lines file, read once to its end.',
  options,
  finite: true,
  resumable: true,
  example: {type: 'file', path: 'readings.jsonl', timestamp: 'ts'},
  create(opts, name, env) {
    const path = resolve(env.baseDir, opts.path)
    return {
      name,
      async *readBatches(ctx: StageContext): AsyncIterable<readonly Delivery[]> {
        const stream = createReadStream(path, {highWaterMark: 256 * 1024})
        const opened = new Promise<void>((ok, fail) => {
          stream.once('open', () => ok())
          stream.once('error', (e: NodeJS.ErrnoException) =>
            fail(new IotdError(`source ${name}: cannot read ${opts.path}: ${e.code === 'ENOENT' ? 'file not found' : e.message}`, EXIT_CODES.runtime)),
          )
        })
        await opened
        let line = 1
        try {
          for await (const lines of readLineBatches(stream, ctx.signal)) {
            const batch = decodeJsonLines(lines, line, {source: name, origin: opts.path, layout: opts.layout, topic: opts.topic}, ctx)
            line += lines.length
            if (batch.length > 0) yield batch
          }
        } finally {
          stream.destroy()
        }
      },
      async *read(ctx: StageContext): AsyncIterable<Delivery> {
        for await (const batch of this.readBatches!(ctx)) yield* batch
      },
      async close() {},
    }
  },
})
