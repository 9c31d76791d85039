/**
 * `type: stdout`: the rule's rows on standard output, as NDJSON (for pipes) or an aligned table (for people).
 * stdout carries the product; progress and the summary's log lines go to stderr.
 */
import type {Writable} from 'node:stream'
import {z} from 'zod'
import {defineSink, type PipelineRecord} from '../types.js'

const options = z.strictObject({
  format: z.enum(['ndjson', 'table']).default('ndjson').meta({description: 'ndjson: one JSON object per row; table: aligned columns with a header.'}),
})

let stdoutOverride: Writable | undefined
/** `pipeline test` and unit tests capture the output. */
export function setStdoutForTests(stream: Writable | undefined): void {
  stdoutOverride = stream
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6)
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

async function writeOut(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((ok) => out.once('drain', ok))
}

export const stdoutSink = defineSink({
  type: 'stdout',
  summary: 'Rows on standard output: NDJSON or an aligned table.',
  options,
  example: {type: 'stdout', format: 'table'},
  create(opts, name) {
    let columns: string[] | undefined
    let widths: number[] = []
    return {
      name,
      async open() {},
      async write(batch: readonly PipelineRecord[]) {
        const out = stdoutOverride ?? process.stdout
        let text = ''
        if (opts.format === 'ndjson') {
          for (const r of batch) text += `${JSON.stringify(r.fields)}\n`
        } else {
          for (const r of batch) {
            const row = (r.fields ?? {}) as Record<string, unknown>
            if (!columns) {
              columns = Object.keys(row)
              // Rows arrive one by one, so widths cannot be known up front: start from the header and the first rows
              // with some room, and widen a column (from then on) when a longer value arrives.
              widths = columns.map((c) => Math.max(c.length, 10, ...batch.slice(0, 50).map((b) => cell((b.fields as Record<string, unknown>)?.[c]).length)))
              text += `${columns.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()}\n`
            }
            const cells = columns.map((c) => cell(row[c]))
            cells.forEach((v, i) => (widths[i] = Math.max(widths[i], v.length)))
            text += `${cells.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd()}\n`
          }
        }
        await writeOut(out, text)
      },
      async flush() {},
      async close() {},
    }
  },
})
