/**
 * The progress line's rate is the last interval's (a second without input says 0/s, not the average since the
 * start), and the sinks' latency is never negative: sub-ms acceptance of an arrival stamped to the µs, and records
 * replayed from the input log, which arrive when they are replayed (not when the earlier run got them).
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {formatProgressLine, loadPipeline, runPipeline, type Delivery, type PipelineSummary, type SourceInstance} from '../../../src/pipeline/index.js'
import {SinkRunner} from '../../../src/pipeline/runtime/sink-runner.js'
import {FileSink, fileSinkOptions} from '../../../src/pipeline/sinks/file.js'
import {createMemorySink} from '../../../src/pipeline/sinks/memory.js'
import {arrivalNow, type StageContext} from '../../../src/pipeline/types.js'

function summaryAt(elapsedMs: number, eventsIn: number): PipelineSummary {
  return {
    schemaVersion: 1,
    pipeline: 'p',
    stoppedBy: 'end-of-input',
    interrupted: false,
    elapsedMs,
    eventsIn,
    eventsPerSecond: (eventsIn * 1000) / elapsedMs,
    sources: [],
    rules: [],
    sinks: [],
    deadLetter: {count: 0, byStage: {}},
    droppedAtShutdown: {openWindows: 0, queuedRows: 0},
  }
}

describe('progress line rate', () => {
  it('is the rate of the last interval', () => {
    const a = summaryAt(5000, 2500)
    expect(formatProgressLine(a)).toMatch(/in 2,500 \(500\/s\)/)
    // A second with no input: 0/s (the average since the start would say 417/s).
    expect(formatProgressLine(summaryAt(6000, 2500), a)).toMatch(/in 2,500 \(0\/s\)/)
    expect(formatProgressLine(summaryAt(7000, 3500), summaryAt(6000, 2500))).toMatch(/in 3,500 \(1,000\/s\)/)
  })
})

const ctx: StageContext = {signal: new AbortController().signal, deadLetter: () => undefined, warn: () => undefined}

describe('sink latency', () => {
  it('is never negative for an arrival stamped to the µs and accepted within the same ms', async () => {
    const runner = new SinkRunner(createMemorySink(), 'memory', 'r', {batchCount: 1, batchIntervalMs: 0, retryAttempts: 0, retryInitialMs: 1, retryMaxMs: 1, queue: 100, overflow: 'block'}, ctx, new AbortController().signal)
    await runner.open()
    // One at a time, each accepted within microseconds of its arrival.
    for (let i = 0; i < 50; i++) {
      runner.offer({ts: 0, fields: {i}, meta: {source: 's'}}, [], arrivalNow())
      await runner.drain()
    }
    const s = runner.stats()
    expect(s.written).toBe(50)
    expect(s.latencyP50Ms).toBeGreaterThanOrEqual(0)
  })

  it('of records replayed from the input log counts from their replay, not their arrival in the earlier run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-replay-latency-'))
    const pipeline = loadPipeline(join(dir, 'p.yaml'), {text: 'version: 1\nname: rl\nsources: {m: {type: stdin}}\nrules: [{name: pass, sql: "SELECT v FROM m", sinks: [{type: stdout}]}]\n'})
    const source = (n: number, failAfter?: number): SourceInstance => ({
      name: 'm',
      type: 'stdin',
      finite: failAfter === undefined,
      source: {
        name: 'm',
        async *read() {},
        async *readBatches() {
          for (let i = 0; i < n; i += 5) {
            if (failAfter !== undefined && i >= failAfter) throw new Error('killed')
            const at = arrivalNow()
            const batch: Delivery[] = Array.from({length: 5}, (_, j) => ({record: {ts: 0, fields: {v: i + j}, meta: {source: 'm', arrivedAt: at}}, ack: () => undefined}))
            yield batch
          }
        },
        async close() {},
      },
    })
    const run = (src: SourceInstance) =>
      runPipeline({pipeline, sources: [src], sinksFor: () => [{sink: createMemorySink(), type: 'memory'}], endOfInput: false, state: {dir: join(dir, 'state'), intervalMs: 600_000, fsync: 'never'}, warn: () => {}})
    await run(source(40, 30))
    // The earlier run's arrivals are 600 ms old when the next run replays them.
    await new Promise((ok) => setTimeout(ok, 600))
    const resumed = await run(source(0))
    expect(resumed.state?.replayed).toBe(30)
    expect(resumed.sinks[0].written).toBe(30)
    expect(resumed.sinks[0].latencyP99Ms).toBeGreaterThanOrEqual(0)
    expect(resumed.sinks[0].latencyP99Ms).toBeLessThan(300)
  })

  it('from a memory source to a file sink is above 0 and below the run time (one clock at both ends, no clamp)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-latency-'))
    const pipeline = loadPipeline(join(dir, 'p.yaml'), {text: 'version: 1\nname: lf\nsources: {m: {type: stdin}}\nrules: [{name: pass, sql: "SELECT v FROM m", sinks: [{type: stdout}]}]\n'})
    // No arrivedAt on the records: the runtime stamps their arrival when the rule emits them.
    const source: SourceInstance = {
      name: 'm',
      type: 'memory',
      finite: true,
      source: {
        name: 'm',
        async *read() {},
        async *readBatches() {
          for (let i = 0; i < 200; i += 20) yield Array.from({length: 20}, (_, j): Delivery => ({record: {ts: 0, fields: {v: i + j}, meta: {source: 'm'}}, ack: () => undefined}))
        },
        async close() {},
      },
    }
    const sink = new FileSink('f', fileSinkOptions.parse({path: join(dir, 'out.jsonl')}), Date.now, {durable: true})
    const started = arrivalNow()
    const summary = await runPipeline({pipeline, sources: [source], sinksFor: () => [{sink, type: 'file'}], warn: () => {}})
    // However loaded the machine, no record waited longer than the run lasted.
    const ranMs = arrivalNow() - started
    expect(summary.sinks[0].written).toBe(200)
    expect(summary.sinks[0].latencyP50Ms).toBeGreaterThan(0)
    expect(summary.sinks[0].latencyP50Ms).toBeLessThan(ranMs)
  })
})
