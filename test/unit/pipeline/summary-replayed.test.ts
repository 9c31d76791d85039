/**
 * The text summary of a run that replayed an earlier run's input log without a checkpoint (killed before its first
 * one): the replayed records are said on the source line and the state line, so the figures add up
 * (source records + replayed = events in = what the rule took).
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {formatSummary, loadPipeline, runPipeline, type Delivery, type SourceInstance} from '../../../src/pipeline/index.js'
import {createMemorySink} from '../../../src/pipeline/sinks/memory.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-summary-replayed-'))
const pipeline = () => loadPipeline(join(dir, 'p.yaml'), {text: 'version: 1\nname: sr\nsources: {m: {type: stdin}}\nrules: [{name: pass, sql: "SELECT v FROM m", sinks: [{type: stdout}]}]\n'})

/** Live (acking) source of `n` events from `first`, in batches of 5; it dies after `failAfter` if given. */
function source(first: number, n: number, opts: {finite: boolean; failAfter?: number}): SourceInstance {
  return {
    name: 'm',
    type: 'stdin',
    finite: opts.finite,
    source: {
      name: 'm',
      async *read() {},
      async *readBatches() {
        for (let i = 0; i < n; i += 5) {
          if (opts.failAfter !== undefined && i >= opts.failAfter) throw new Error('killed')
          const batch: Delivery[] = Array.from({length: Math.min(5, n - i)}, (_, j) => ({record: {ts: 0, fields: {v: first + i + j}, meta: {source: 'm'}}, ack: () => undefined}))
          yield batch
        }
      },
      async close() {},
    },
  }
}

async function run(src: SourceInstance, stateDir: string) {
  const sink = createMemorySink()
  return runPipeline({pipeline: pipeline(), sources: [src], sinksFor: () => [{sink, type: 'memory'}], endOfInput: false, state: {dir: stateDir, intervalMs: 600_000, fsync: 'never'}, warn: () => {}})
}

describe('summary of a run that replayed the input log without a checkpoint', () => {
  it('says the replayed records on the source line and the state line; the figures add up', async () => {
    const stateDir = join(dir, 'state')
    const crashed = await run(source(0, 40, {finite: false, failAfter: 30}), stateDir)
    expect(crashed.state?.checkpoints).toBe(0)
    const resumed = await run(source(100, 10, {finite: true}), stateDir)
    expect(resumed.state?.restoredFrom).toBeUndefined()
    expect(resumed.state?.replayed).toBe(30)
    expect(resumed.sources[0].records + (resumed.sources[0].replayed ?? 0)).toBe(resumed.eventsIn)
    const text = formatSummary(resumed)
    expect(text).toMatch(/source m \(stdin\): 10 records, 30 replayed from the input log/)
    expect(text).toMatch(/rule pass: in 40,/)
    expect(text).toMatch(/state .*: no checkpoint: replayed 30 logged records of an earlier run/)
    expect(text).not.toMatch(/started empty/)
  })
})
