/**
 * Checkpointed state: a run stopped (or crashed) part-way and resumed from its state directory emits exactly the
 * rows of one uninterrupted run, for every window kind and the stateful functions; a changed rule is refused.
 */
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadPipeline, runPipeline, type Delivery, type SourceInstance} from '../../../src/pipeline/index.js'
import {createMemorySink} from '../../../src/pipeline/sinks/memory.js'
import {describeState} from '../../../src/pipeline/state/index.js'
import {serialize} from 'node:v8'
import {IotdError} from '../../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-delivery-state-'))

function pipeline(sql: string) {
  return loadPipeline(join(dir, 'p.yaml'), {text: `version: 1\nname: st\nsources: {s: {type: stdin, timestamp: ts}}\nrules: [{name: r, sql: "${sql}", sinks: [{type: stdout}]}]\n`})
}

type Event = {ts: number; dev: string; v: number}

/** 90 events of 3 devices over ~45 s, a few out of order. */
const events: Event[] = Array.from({length: 90}, (_, i) => ({ts: 1_000 + i * 500 - (i % 7 === 3 ? 1200 : 0), dev: `d${i % 3}`, v: (i * 37) % 11}))

/** A source handing over `list` in batches of 4; live ones ack (and so go through the input log). */
function source(list: Event[], opts: {finite: boolean; failAfter?: number; quietFrom?: number; acked?: number[]}): SourceInstance {
  return {
    name: 's',
    type: 'stdin',
    finite: opts.finite,
    timestampField: 'ts',
    source: {
      name: 's',
      async *read() {},
      async *readBatches() {
        for (let i = 0; i < list.length; i += 4) {
          if (opts.failAfter !== undefined && i >= opts.failAfter) throw new Error('the process died here')
          const batch: Delivery[] = list.slice(i, i + 4).map((e, j) => ({
            record: {ts: 0, fields: {...e}, meta: {source: 's'}},
            ack: () => opts.acked?.push(i + j),
          }))
          yield batch
          // Let timers (checkpoints) run between the batches before `quietFrom`; after it, only microtasks.
          if (opts.quietFrom === undefined || i < opts.quietFrom) await new Promise((ok) => setTimeout(ok, 2))
        }
      },
      async close() {},
    },
  }
}

async function run(sql: string, src: SourceInstance, stateDir: string | undefined, extra: {endOfInput?: boolean; intervalMs?: number} = {}) {
  const sink = createMemorySink()
  const summary = await runPipeline({
    pipeline: pipeline(sql),
    sources: [src],
    sinksFor: () => [{sink, type: 'memory'}],
    endOfInput: extra.endOfInput,
    state: stateDir ? {dir: stateDir, intervalMs: extra.intervalMs ?? 60_000, fsync: 'never'} : undefined,
    warn: () => {},
  })
  return {rows: sink.rows.map((r) => r.fields as Record<string, unknown>), summary}
}

const rules: [string, string][] = [
  ['tumbling', 'SELECT dev, count(*) AS c, sum(v) AS s, window_start() AS ws FROM s GROUP BY dev, TUMBLINGWINDOW(ss, 10)'],
  ['hopping', 'SELECT dev, count(*) AS c, avg(v) AS a, window_start() AS ws FROM s GROUP BY dev, HOPPINGWINDOW(ss, 10, 5)'],
  ['sliding', 'SELECT dev, count(*) AS c, max(v) AS m, window_end() AS we FROM s GROUP BY dev, SLIDINGWINDOW(ss, 4)'],
  ['session', 'SELECT dev, count(*) AS c, collect(v) AS vs, window_start() AS ws FROM s GROUP BY dev, SESSIONWINDOW(ss, 20, 2)'],
  ['count', 'SELECT dev, count(*) AS c, sum(v) AS s FROM s GROUP BY dev, COUNTWINDOW(4, 2)'],
  ['stateful functions', 'SELECT dev, v, lag(v) AS prev, changed(v) AS ch, zscore(v, 5) AS z FROM s'],
]

describe('restart from checkpointed state', () => {
  for (const [kind, sql] of rules) {
    it(`${kind}: stopped after 40 events and resumed = one uninterrupted run`, async () => {
      const whole = await run(sql, source(events, {finite: true}), undefined)
      expect(whole.rows.length).toBeGreaterThan(3)
      const stateDir = join(dir, `stop-${kind.replace(/ /g, '-')}`)
      const acked: number[] = []
      const first = await run(sql, source(events.slice(0, 40), {finite: false, acked}), stateDir, {endOfInput: false})
      // Acked once logged: every event, although most still sit in open windows.
      expect(acked.length).toBe(40)
      expect(first.summary.state?.atExit).toBe('checkpoint')
      const second = await run(sql, source(events.slice(40), {finite: true}), stateDir)
      expect(second.summary.state?.restoredFrom).toBeDefined()
      expect([...first.rows, ...second.rows]).toEqual(whole.rows)
      // The run completed: nothing is left to resume.
      expect(second.summary.state?.atExit).toBe('cleared')
      expect(describeState(stateDir).checkpoint).toBeUndefined()
    })

    it(`${kind}: crashed after 56 events (checkpoints before), restarted = the same rows, re-emitted ones identical`, async () => {
      const whole = await run(sql, source(events, {finite: true}), undefined)
      const stateDir = join(dir, `crash-${kind.replace(/ /g, '-')}`)
      const acked: number[] = []
      // A checkpoint every 1 ms of wall time while the source lets timers run (up to event 28), none after.
      const crashed = await run(sql, source(events.slice(0, 60), {finite: false, failAfter: 56, quietFrom: 28, acked}), stateDir, {endOfInput: false, intervalMs: 1})
      expect(crashed.summary.error).toMatch(/died/)
      expect(crashed.summary.state?.atExit).toBe('log')
      expect(crashed.summary.state?.checkpoints).toBeGreaterThan(0)
      expect(acked.length).toBe(56)
      // The broker sends what was never acknowledged again: events 56 on.
      const resumed = await run(sql, source(events.slice(56), {finite: true}), stateDir)
      expect(resumed.summary.state?.replayed).toBeGreaterThan(0)
      // Upsert view: the last row per (dev, window) / per event wins; rows emitted twice must be identical.
      const key = (r: Record<string, unknown>, i: number) => (kind === 'stateful functions' || kind === 'count' ? `${i}` : JSON.stringify([r.dev, r.ws ?? r.we]))
      const reEmitted = crashed.rows.length + resumed.rows.length - whole.rows.length
      expect(reEmitted).toBeGreaterThanOrEqual(0)
      if (kind === 'stateful functions' || kind === 'count') {
        // Order-keyed: the resumed run re-emits the tail of the crashed run's rows, identically.
        expect([...crashed.rows.slice(0, crashed.rows.length - reEmitted), ...resumed.rows]).toEqual(whole.rows)
      } else {
        const merged = new Map<string, unknown>()
        ;[...crashed.rows, ...resumed.rows].forEach((r, i) => merged.set(key(r, i), r))
        const expected = new Map<string, unknown>()
        whole.rows.forEach((r, i) => expected.set(key(r, i), r))
        expect(merged).toEqual(expected)
      }
    })
  }

  it('refuses to restore into a changed rule, and --reset-state starts afresh', async () => {
    const stateDir = join(dir, 'changed')
    await run(rules[0][1], source(events.slice(0, 20), {finite: false}), stateDir, {endOfInput: false})
    await expect(run(rules[1][1], source(events.slice(20), {finite: true}), stateDir)).rejects.toThrow(/rule "r" changed.*/)
    const sink = createMemorySink()
    const summary = await runPipeline({
      pipeline: pipeline(rules[1][1]),
      sources: [source(events, {finite: true})],
      sinksFor: () => [{sink, type: 'memory'}],
      state: {dir: stateDir, intervalMs: 60_000, fsync: 'always', reset: true},
      warn: () => {},
    })
    expect(summary.state?.restoredFrom).toBeUndefined()
    expect(sink.rows.length).toBe((await run(rules[1][1], source(events, {finite: true}), undefined)).rows.length)
  })

  it('a second run of the same state directory is refused while the first holds it', async () => {
    const stateDir = join(dir, 'locked')
    let release!: () => void
    const gate = new Promise<void>((ok) => (release = ok))
    const src: SourceInstance = {
      ...source([], {finite: false}),
      source: {
        name: 's',
        async *read() {},
        async *readBatches() {
          await gate
          yield []
        },
        async close() {},
      },
    }
    const first = run(rules[0][1], src, stateDir, {endOfInput: false})
    await expect.poll(() => existsSync(join(stateDir, 'lock'))).toBe(true)
    await expect(run(rules[0][1], source(events, {finite: true}), stateDir)).rejects.toThrow(/in use by another run/)
    release()
    await first
    expect(readdirSync(stateDir)).not.toContain('lock')
  })

  it('a checkpoint keeps of a window only its accumulators and the columns emitting reads, and restores the same rows', async () => {
    // `v` is neither aggregated nor grouped (the last row's value); `blob` is read by nothing.
    const sql = 'SELECT dev, v, count(*) AS c, avg(v) AS a, window_start() AS ws FROM s GROUP BY dev, TUMBLINGWINDOW(ss, 10)'
    const blob = 'unread-'.repeat(200)
    const withBlob = events.map((e) => ({...e, blob}))
    const whole = await run(sql, source(withBlob, {finite: true}), undefined)
    expect(whole.rows.length).toBeGreaterThan(3)
    const stateDir = join(dir, 'compact')
    const first = await run(sql, source(withBlob.slice(0, 40), {finite: false}), stateDir, {endOfInput: false})
    expect(first.summary.state?.atExit).toBe('checkpoint')
    expect(first.summary.rules[0].openWindows).toBeGreaterThan(0)
    const file = readFileSync(join(stateDir, 'checkpoint.v8'))
    expect(file.includes('unread-unread-')).toBe(false)
    // The blob of even one window would be 1,400 bytes.
    expect(file.length).toBeLessThan(1400)
    const second = await run(sql, source(withBlob.slice(40), {finite: true}), stateDir)
    expect([...first.rows, ...second.rows]).toEqual(whole.rows)
  })

  it('a checkpoint of the earlier format (1) is refused with a message that names --reset-state', async () => {
    const stateDir = join(dir, 'old-format')
    mkdirSync(stateDir, {recursive: true})
    // What format 1 wrote: windows as [key, start, end, events, {accs, last: the whole last row}] tuples.
    const old = {version: 1, pipeline: 'st', fingerprints: {}, createdAt: Date.UTC(2026, 11, 1), replayFrom: 1, positions: {}, rules: {r: {window: {watermark: [0, 0], counters: [1, 0, 0, 0], windows: [['d0', 0, 10_000, 1, {accs: [{n: 1}], last: {payload: {dev: 'd0'}, meta: {}}}]]}, functions: []}}}
    writeFileSync(join(stateDir, 'checkpoint.v8'), serialize(old))
    const refused = await run(rules[0][1], source(events, {finite: true}), stateDir).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(refused).toBeInstanceOf(IotdError)
    expect((refused as IotdError).message).toMatch(/checkpoint format 1 .*format 2 only/)
    expect((refused as IotdError).suggestions.join('\n')).toMatch(/--reset-state/)
    // Refused before taking the state: no lock is left, and --reset-state then runs.
    expect(readdirSync(stateDir)).not.toContain('lock')
    const sink = createMemorySink()
    const summary = await runPipeline({pipeline: pipeline(rules[0][1]), sources: [source(events, {finite: true})], sinksFor: () => [{sink, type: 'memory'}], state: {dir: stateDir, intervalMs: 60_000, fsync: 'never', reset: true}, warn: () => {}})
    expect(summary.state?.restoredFrom).toBeUndefined()
    expect(sink.rows.length).toBe((await run(rules[0][1], source(events, {finite: true}), undefined)).rows.length)
  })
})

describe('sources that are not plain files resume too', () => {
  const scenario = join(process.cwd(), 'scenarios/pipelines/sims/press-line.yaml')
  const sql = 'SELECT deviceId, count(*) AS c, round(avg(temperature), 2) AS t, window_start() AS ws FROM s GROUP BY deviceId, TUMBLINGWINDOW(mi, 1)'
  // No `from`: the default (the start of the current hour) is what the checkpoint must pin for the restart.
  const simPipeline = () => loadPipeline(join(dir, 'sim.yaml'), {text: `version: 1\nname: simresume\nsources: {s: {type: sim, scenario: ${scenario}, duration: 10m}}\nrules: [{name: r, sql: "${sql}", sinks: [{type: stdout}]}]\n`})

  /** The configured sim source, optionally dying after `failAfter` batches (timers run between batches). */
  function simSource(failAfter?: number): SourceInstance {
    const p = simPipeline()
    const ls = p.sources[0]
    const made = ls.spec.create(ls.options, ls.name, {baseDir: p.baseDir, env: process.env})
    return {
      name: 's',
      type: 'sim',
      finite: true,
      resumable: true,
      source: {
        name: 's',
        read: made.read.bind(made),
        startState: made.startState?.bind(made),
        resumeStart: made.resumeStart?.bind(made),
        async *readBatches(ctx) {
          let n = 0
          for await (const b of made.readBatches!(ctx)) {
            if (failAfter !== undefined && n++ >= failAfter) throw new Error('the process died here')
            yield b
            await new Promise((ok) => setTimeout(ok, 5))
          }
        },
        close: () => made.close(),
      },
    }
  }

  async function runSim(src: SourceInstance, stateDir: string | undefined) {
    const sink = createMemorySink()
    const summary = await runPipeline({pipeline: simPipeline(), sources: [src], sinksFor: () => [{sink, type: 'memory'}], state: stateDir ? {dir: stateDir, intervalMs: 1, fsync: 'never'} : undefined, warn: () => {}})
    return {rows: sink.rows.map((r) => r.fields as Record<string, unknown>), summary}
  }

  it('sim: crashed part-way and restarted, it generates the same stream from its checkpointed start and skips what was taken', async () => {
    const whole = await runSim(simSource(), undefined)
    expect(whole.summary.eventsIn).toBe(3600)
    const stateDir = join(dir, 'sim-crash')
    const crashed = await runSim(simSource(3), stateDir)
    expect(crashed.summary.error).toMatch(/died/)
    expect(crashed.summary.state?.checkpoints).toBeGreaterThan(0)
    expect(crashed.summary.state?.loggedBatches).toBe(0)
    const saved = describeState(stateDir)
    expect(Object.keys(saved.checkpoint?.positions ?? {})).toEqual(['s'])
    const resumed = await runSim(simSource(), stateDir)
    expect(resumed.summary.state?.restoredFrom).toBeDefined()
    expect(resumed.summary.state?.skipped).toBe(saved.checkpoint?.positions.s)
    // Every message once: skipped by the restart, or taken by it.
    expect(resumed.summary.state!.skipped + resumed.summary.eventsIn).toBe(3600)
    const merged = new Map<string, unknown>()
    for (const r of [...crashed.rows, ...resumed.rows]) merged.set(JSON.stringify([r.deviceId, r.ws]), r)
    const expected = new Map<string, unknown>()
    for (const r of whole.rows) expected.set(JSON.stringify([r.deviceId, r.ws]), r)
    expect(merged).toEqual(expected)
  })

  it('stdin from a pipe: what a crashed run read is replayed from the input log, and the restart reads only its own input', async () => {
    const sql = rules[0][1]
    const whole = await run(sql, source(events, {finite: true}), undefined)
    const stateDir = join(dir, 'stdin-pipe')
    // As the runtime sees stdin from a pipe: finite, not resumable, read once.
    const crashed = await run(sql, source(events.slice(0, 60), {finite: true, failAfter: 56, quietFrom: 28}), stateDir, {intervalMs: 1})
    expect(crashed.summary.error).toMatch(/died/)
    expect(crashed.summary.state?.loggedBatches).toBe(14)
    const resumed = await run(sql, source(events.slice(56), {finite: true}), stateDir)
    expect(resumed.summary.state?.replayed).toBeGreaterThan(0)
    const key = (r: Record<string, unknown>) => JSON.stringify([r.dev, r.ws])
    const merged = new Map([...crashed.rows, ...resumed.rows].map((r) => [key(r), r]))
    expect(merged).toEqual(new Map(whole.rows.map((r) => [key(r), r])))
  })
})
