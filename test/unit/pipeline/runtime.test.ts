/**
 * The runtime with in-memory sources and sinks: acknowledgements (at-least-once), backpressure, joins, the map
 * step, dead letter and shutdown.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {explainPipeline, loadPipeline, runPipeline, type Delivery, type PipelineRecord, type SourceInstance} from '../../../src/pipeline/index.js'
import {createMemorySink, type MemorySink} from '../../../src/pipeline/sinks/memory.js'
import {TransientSinkError} from '../../../src/pipeline/types.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-rt-'))

function pipeline(yaml: string) {
  return loadPipeline(join(dir, 'p.yaml'), {text: `version: 1\nsources: {s: {type: stdin, timestamp: ts}}\n${yaml}`})
}

interface Ackable {
  fields: Record<string, unknown>
}

/** A source whose deliveries record their acks; `pauseAfter` lets a test look between batches. */
function ackingSource(events: Ackable[], acked: number[], opts: {batch?: number; onBatch?: (i: number) => Promise<void> | void} = {}): SourceInstance {
  const size = opts.batch ?? 1
  return {
    name: 's',
    type: 'test',
    finite: true,
    timestampField: 'ts',
    source: {
      name: 's',
      async *read() {},
      async *readBatches() {
        for (let i = 0; i < events.length; i += size) {
          await opts.onBatch?.(i)
          const batch: Delivery[] = events.slice(i, i + size).map((e, j) => ({
            record: {ts: 0, fields: e.fields, meta: {source: 's'}} satisfies PipelineRecord,
            ack: () => acked.push(i + j),
          }))
          yield batch
        }
      },
      async close() {},
    },
  }
}

function memory(): {sinks: MemorySink[]; sinksFor: () => {sink: MemorySink; type: string}[]} {
  const sinks: MemorySink[] = []
  return {
    sinks,
    sinksFor: () => {
      const sink = createMemorySink()
      sinks.push(sink)
      return [{sink, type: 'memory'}]
    },
  }
}

describe('acknowledgements', () => {
  it('acks events held in a window only when the window fires and its row is accepted', async () => {
    const p = pipeline(`rules: [{sql: "SELECT count(*) AS c FROM s GROUP BY TUMBLINGWINDOW(ss, 10)", sinks: [{type: stdout}]}]`)
    const acked: number[] = []
    const seen: number[][] = []
    const events = [1000, 2000, 12_000, 13_000, 25_000].map((ts) => ({fields: {ts}}))
    const m = memory()
    await runPipeline({
      pipeline: p,
      sources: [ackingSource(events, acked, {onBatch: async () => {
        // Let the sink's write of the previous batch complete.
        await new Promise((ok) => setTimeout(ok, 5))
        seen.push([...acked])
      }})],
      sinksFor: m.sinksFor,
      warn: () => {},
    })
    // Before the 3rd event nothing is acked; the 3rd closes [0,10s) and releases the first two; the end flushes.
    expect(seen[2]).toEqual([])
    expect(seen[3]).toEqual([0, 1])
    expect(acked.sort()).toEqual([0, 1, 2, 3, 4])
    expect(m.sinks[0].rows.map((r) => r.fields)).toEqual([{c: 2}, {c: 2}, {c: 1}])
  })

  it('acks filtered and late events at once, and events whose window fails HAVING when it fires', async () => {
    const p = pipeline(`rules: [{sql: "SELECT count(*) AS c FROM s WHERE ok GROUP BY TUMBLINGWINDOW(ss, 10) HAVING count(*) > 1", sinks: [{type: stdout}]}]`)
    const acked: number[] = []
    const events = [
      {fields: {ts: 1000, ok: false}},
      {fields: {ts: 15_000, ok: true}},
      {fields: {ts: 2000, ok: true}},
      {fields: {ts: 25_000, ok: true}},
    ]
    const m = memory()
    const s = await runPipeline({pipeline: p, sources: [ackingSource(events, acked)], sinksFor: m.sinksFor, warn: () => {}})
    expect(acked.sort()).toEqual([0, 1, 2, 3])
    expect(m.sinks[0].rows).toEqual([])
    expect(s.rules[0].lateDropped).toBe(1)
    expect(s.rules[0].filtered).toBe(1)
  })

  it('does not ack rows a failing sink has not accepted until its retries succeed', async () => {
    const p = pipeline(`rules: [{sql: "SELECT ts FROM s", sinks: [{type: stdout, retry: {attempts: 5, initial: 1ms, max: 2ms}}]}]`)
    const acked: number[] = []
    let failures = 2
    const sink = createMemorySink('flaky', {failWith: () => (failures-- > 0 ? new TransientSinkError('busy') : undefined)})
    const s = await runPipeline({
      pipeline: p,
      sources: [ackingSource([{fields: {ts: 1}}, {fields: {ts: 2}}], acked)],
      sinksFor: () => [{sink, type: 'memory'}],
      warn: () => {},
    })
    expect(s.sinks[0].retries).toBe(2)
    expect(acked).toEqual([0, 1])
    expect(sink.rows).toHaveLength(2)
  })
})

describe('batching', () => {
  it('interval 0: what one source batch gave is written as one batch once the rule has taken it, before the next arrives', async () => {
    const p = pipeline(`rules: [{sql: "SELECT ts FROM s", sinks: [{type: stdout, batch: {count: 100, interval: 0}}]}]`)
    const sink = createMemorySink('m')
    const writes: Array<{size: number; beforeBatch: number}> = []
    let batchesRead = 0
    const write = sink.write.bind(sink)
    sink.write = async (b) => {
      writes.push({size: b.length, beforeBatch: batchesRead})
      return write(b)
    }
    const events = Array.from({length: 21}, (_, i) => ({fields: {ts: i}}))
    // The next source batch comes one event-loop turn later: a timer of any length would let it join the batch.
    const source = ackingSource(events, [], {
      batch: 7,
      onBatch: async (i) => {
        if (i > 0) await new Promise((ok) => setImmediate(ok))
        batchesRead++
      },
    })
    await runPipeline({pipeline: p, sources: [source], sinksFor: () => [{sink, type: 'memory'}], warn: () => {}})
    expect(writes).toEqual([
      {size: 7, beforeBatch: 1},
      {size: 7, beforeBatch: 2},
      {size: 7, beforeBatch: 3},
    ])
  })

  it('a burst far past the queue size (a window firing for many keys) is written in order, every row once', async () => {
    const p = pipeline(`rules: [{sql: "SELECT ts FROM s", sinks: [{type: stdout, batch: {count: 7, interval: 0}}]}]`)
    const sink = createMemorySink('m')
    const sizes: number[] = []
    const write = sink.write.bind(sink)
    sink.write = async (b) => {
      sizes.push(b.length)
      return write(b)
    }
    const events = Array.from({length: 5000}, (_, i) => ({fields: {ts: i}}))
    await runPipeline({pipeline: p, sources: [ackingSource(events, [], {batch: 5000})], sinksFor: () => [{sink, type: 'memory'}], warn: () => {}})
    expect(sink.rows.map((r) => (r.fields as {ts: number}).ts)).toEqual(events.map((e) => e.fields.ts))
    expect(sizes.slice(0, -1).every((n) => n === 7)).toBe(true)
  })

  it('the mqtt sink batches that way by default', async () => {
    const p = pipeline(`rules: [{sql: "SELECT ts FROM s", sinks: [{type: mqtt, url: "mqtt://127.0.0.1:1", topic: out}]}]`)
    expect(explainPipeline(p).rules[0].sinks[0].batch).toBe('batches of up to 1024 or what one source batch gives')
  })
})

describe('backpressure', () => {
  it('pauses the source while a slow sink queue is full', async () => {
    const p = pipeline(`rules: [{sql: "SELECT ts FROM s", sinks: [{type: stdout, queue: 20, batch: {count: 5, interval: 10ms}}]}]`)
    const slow = createMemorySink('slow')
    const write = slow.write.bind(slow)
    slow.write = async (b) => {
      await new Promise((ok) => setTimeout(ok, 2))
      return write(b)
    }
    const events = Array.from({length: 400}, (_, i) => ({fields: {ts: i}}))
    const s = await runPipeline({pipeline: p, sources: [ackingSource(events, [], {batch: 10})], sinksFor: () => [{sink: slow, type: 'memory'}], warn: () => {}})
    expect(slow.rows).toHaveLength(400)
    // Bounded: the queue never holds more than its size plus one source batch.
    expect(s.sinks[0].maxQueued).toBeLessThanOrEqual(30)
  })

  it('with overflow: drop, discards and counts rows instead of waiting', async () => {
    const p = pipeline(`rules: [{sql: "SELECT ts FROM s", sinks: [{type: stdout, queue: 5, overflow: drop, batch: {count: 5, interval: 10ms}}]}]`)
    const slow = createMemorySink('slow')
    const write = slow.write.bind(slow)
    slow.write = async (b) => {
      await new Promise((ok) => setTimeout(ok, 5))
      return write(b)
    }
    const events = Array.from({length: 100}, (_, i) => ({fields: {ts: i}}))
    const s = await runPipeline({pipeline: p, sources: [ackingSource(events, [], {batch: 50})], sinksFor: () => [{sink: slow, type: 'memory'}], warn: () => {}})
    expect(s.sinks[0].dropped).toBeGreaterThan(0)
    expect(s.sinks[0].dropped + slow.rows.length).toBe(100)
  })
})

describe('tables, map, dead letter', () => {
  it('LEFT JOINs a CSV table by hash and keeps events without a match', async () => {
    writeFileSync(join(dir, 'devices.csv'), 'id,site,threshold\na,north,30\nb,south,50\n')
    const p = pipeline(`tables: {devices: {file: devices.csv}}
rules:
  - sql: SELECT s.id, d.site, temp > d.threshold AS hot FROM s LEFT JOIN devices d ON s.id = d.id
    sinks: [{type: stdout}]`)
    const m = memory()
    const events = [{fields: {ts: 1, id: 'a', temp: 31}}, {fields: {ts: 2, id: 'b', temp: 31}}, {fields: {ts: 3, id: 'zz', temp: 99}}]
    await runPipeline({pipeline: p, sources: [ackingSource(events, [])], sinksFor: m.sinksFor, warn: () => {}})
    expect(m.sinks[0].rows.map((r) => r.fields)).toEqual([
      {id: 'a', site: 'north', hot: true},
      {id: 'b', site: 'south', hot: false},
      // No match: the table's columns are null and, as in eKuiper (sendNil: false), left out of the row.
      {id: 'zz'},
    ])
  })

  it('reshapes rows with the JSONata map and drops rows it maps to nothing', async () => {
    const p = pipeline(`rules:
  - sql: SELECT id, temp FROM s
    map: 'temp > 0 ? {"device": id, "reading": {"celsius": temp}}'
    sinks: [{type: stdout}]`)
    const m = memory()
    const acked: number[] = []
    const s = await runPipeline({pipeline: p, sources: [ackingSource([{fields: {ts: 1, id: 'a', temp: 5}}, {fields: {ts: 2, id: 'b', temp: -1}}], acked)], sinksFor: m.sinksFor, warn: () => {}})
    expect(m.sinks[0].rows.map((r) => r.fields)).toEqual([{device: 'a', reading: {celsius: 5}}])
    expect(s.rules[0].mapDropped).toBe(1)
    expect(acked.sort()).toEqual([0, 1])
  })

  it('dead-letters events without an event time, with the reason', async () => {
    const p = pipeline(`rules: [{sql: "SELECT * FROM s", sinks: [{type: stdout}]}]`)
    const m = memory()
    const acked: number[] = []
    const s = await runPipeline({pipeline: p, sources: [ackingSource([{fields: {v: 1}}, {fields: {ts: 'yesterday-ish'}}, {fields: {ts: 5}}], acked)], sinksFor: m.sinksFor, deadLetterFile: null, warn: () => {}})
    expect(s.deadLetter.count).toBe(2)
    expect(s.deadLetter.byStage).toEqual({'source:s': 2})
    expect(m.sinks[0].rows).toHaveLength(1)
    expect(acked.sort()).toEqual([0, 1, 2])
  })
})

describe('shutdown', () => {
  it('on abort flushes open windows (default) and reports an interrupt', async () => {
    const p = pipeline(`rules: [{sql: "SELECT count(*) AS c FROM s GROUP BY TUMBLINGWINDOW(ss, 10)", sinks: [{type: stdout}]}]`)
    const abort = new AbortController()
    const m = memory()
    const src = ackingSource([{fields: {ts: 1}}, {fields: {ts: 2}}, {fields: {ts: 3}}], [], {
      onBatch: (i) => {
        if (i === 2) abort.abort()
      },
    })
    const s = await runPipeline({pipeline: p, sources: [src], sinksFor: m.sinksFor, signal: abort.signal, warn: () => {}})
    expect(s.stoppedBy).toBe('interrupt')
    expect(s.interrupted).toBe(true)
    expect(m.sinks[0].rows.map((r) => r.fields)).toEqual([{c: 2}])
  })

  it('with openWindows: drop, discards open windows and leaves their events unacknowledged', async () => {
    const p = pipeline(`rules: [{sql: "SELECT count(*) AS c FROM s GROUP BY TUMBLINGWINDOW(ss, 10)", sinks: [{type: stdout}]}]`)
    const abort = new AbortController()
    const m = memory()
    const acked: number[] = []
    const src = ackingSource([{fields: {ts: 1}}, {fields: {ts: 2}}, {fields: {ts: 3}}], acked, {
      onBatch: (i) => {
        if (i === 2) abort.abort()
      },
    })
    const s = await runPipeline({pipeline: p, sources: [src], sinksFor: m.sinksFor, signal: abort.signal, openWindows: 'drop', warn: () => {}})
    expect(m.sinks[0].rows).toEqual([])
    expect(acked).toEqual([])
    expect(s.droppedAtShutdown.openWindows).toBe(1)
  })
})

describe('processing time', () => {
  it('closes windows of a live source without event time on the wall clock, while the source is idle', async () => {
    const p = loadPipeline(join(dir, 'p.yaml'), {
      text: `version: 1\nsources: {s: {type: stdin}}\nrules: [{sql: "SELECT count(*) AS c FROM s GROUP BY TUMBLINGWINDOW(ms, 200)", sinks: [{type: stdout}]}]\n`,
    })
    const m = memory()
    const abort = new AbortController()
    let firedWhileIdle = -1
    const live: SourceInstance = {
      name: 's',
      type: 'test',
      finite: false,
      source: {
        name: 's',
        async *read() {},
        async *readBatches() {
          const now = Date.now()
          yield [1, 2, 3].map(() => ({record: {ts: now, fields: {}, meta: {source: 's'}}, ack: () => {}}))
          // Idle: no further events, yet the window must close once the wall clock passes its end.
          await new Promise((ok) => setTimeout(ok, 700))
          firedWhileIdle = m.sinks[0].rows.length
          abort.abort()
        },
        async close() {},
      },
    }
    await runPipeline({pipeline: p, sources: [live], sinksFor: m.sinksFor, signal: abort.signal, warn: () => {}})
    expect(firedWhileIdle).toBe(1)
    expect(m.sinks[0].rows.map((r) => r.fields)).toEqual([{c: 3}])
  })
})

describe('event-time guards', () => {
  it('rejects events of a live source too far ahead of the wall clock, and dead-letters late events when asked', async () => {
    const p = loadPipeline(join(dir, 'p.yaml'), {
      text: `version: 1
sources: {s: {type: stdin, timestamp: ts}}
rules:
  - sql: "SELECT count(*) AS c FROM s GROUP BY TUMBLINGWINDOW(ss, 10)"
    maxFutureSkew: 1m
    late: deadLetter
    sinks: [{type: stdout}]
`,
    })
    const now = Date.now()
    const base = Math.floor(now / 10_000) * 10_000 - 60_000
    const events = [base + 1000, now + 3_600_000, base + 20_000, base + 2000].map((ts) => ({fields: {ts}}))
    const src = {...ackingSource(events, []), finite: false}
    const m = memory()
    const s = await runPipeline({pipeline: p, sources: [src], sinksFor: m.sinksFor, deadLetterFile: null, warn: () => {}})
    expect(s.rules[0].futureRejected).toBe(1)
    expect(s.rules[0].lateDropped).toBe(1)
    expect(s.deadLetter.byStage).toEqual({'rule:rule1': 2})
    // The far-future event did not move the watermark: the first window closed on the event 20 s later, not before.
    expect(m.sinks[0].rows.map((r) => r.fields)).toEqual([{c: 1}, {c: 1}])
  })
})
