import {describe, expect, it} from 'vitest'
import {createTumblingWindow, createWindowOperator, type WindowEvent, type WindowOutput} from '../../../src/pipeline/window/index.js'
import {ev, run, seededRandom, totals, view, type Row, type Totals} from './window-test-kit.js'

const tenSeconds = () => createTumblingWindow({sizeMs: 10_000}, totals)

describe('TUMBLINGWINDOW', () => {
  it('example 1 of the semantics: counts, sums and the end-of-input flush', () => {
    const out = run(tenSeconds(), [[1000, 1], [2000, 2], [9999, 3], [10_000, 4], [15_000, 5], [25_000, 6]])
    expect(out.map(view)).toEqual([
      {key: '', ws: 0, we: 10_000, c: 3, total: 6},
      {key: '', ws: 10_000, we: 20_000, c: 2, total: 9},
      {key: '', ws: 20_000, we: 30_000, c: 1, total: 6},
    ])
  })

  it('example 2: an out-of-order event counts while its window has not fired (lateness per window)', () => {
    const op = tenSeconds()
    const out = run(op, [[1000, 1], [5000, 2], [3000, 3], [12_000, 4]])
    expect(out.map(view)).toEqual([
      {key: '', ws: 0, we: 10_000, c: 3, total: 6},
      {key: '', ws: 10_000, we: 20_000, c: 1, total: 4},
    ])
    expect(op.stats().lateDropped).toBe(0)
  })

  it('windows are aligned to the Unix epoch in UTC', () => {
    const op = createTumblingWindow({sizeMs: 3_600_000}, totals)
    const ts = Date.UTC(2026, 10, 3, 14, 27, 5, 123)
    const [row] = run(op, [[ts, 1]])
    expect(row.windowStart).toBe(Date.UTC(2026, 10, 3, 14))
    expect(row.windowEnd).toBe(Date.UTC(2026, 10, 3, 15))
  })

  it('offset shifts the alignment (local days)', () => {
    const day = 86_400_000
    const op = createTumblingWindow({sizeMs: day}, totals, {offsetMs: -2 * 3_600_000}) // days start at 22:00 UTC
    const [a, b] = run(op, [[Date.UTC(2026, 0, 1, 21, 59), 1], [Date.UTC(2026, 0, 1, 22, 0), 2]])
    expect(a.windowStart).toBe(Date.UTC(2025, 11, 31, 22))
    expect(a.windowEnd).toBe(Date.UTC(2026, 0, 1, 22))
    expect(b.windowStart).toBe(Date.UTC(2026, 0, 1, 22))
  })

  it('start is inclusive and end exclusive', () => {
    const out = run(tenSeconds(), [[0, 1], [9999, 2], [10_000, 3]])
    expect(out.map(view)).toEqual([
      {key: '', ws: 0, we: 10_000, c: 2, total: 3},
      {key: '', ws: 10_000, we: 20_000, c: 1, total: 3},
    ])
  })

  it('fires exactly once, when W >= end: not before, never again', () => {
    const op = tenSeconds()
    expect(op.push(ev(1000, 1))).toEqual([])
    expect(op.push(ev(9999, 2))).toEqual([]) // W = 9999 < end
    const fired = op.push(ev(10_000, 3)) // W = 10000 = end
    expect(fired.map(view)).toEqual([{key: '', ws: 0, we: 10_000, c: 2, total: 3}])
    expect(op.push(ev(19_000, 4))).toEqual([])
    expect(op.advanceTo(15_000)).toEqual([])
    const rest = op.end()
    expect(rest.map((o) => o.windowStart)).toEqual([10_000]) // [0,10000) is not fired again
    expect(op.end()).toEqual([])
  })

  it('no early firing with lateTolerance: W = max(ts) - tolerance', () => {
    const op = createTumblingWindow({sizeMs: 10_000}, totals, {lateToleranceMs: 2000})
    expect(op.push(ev(1000, 1))).toEqual([])
    expect(op.push(ev(11_999, 2))).toEqual([]) // W = 9999
    expect(op.push(ev(8000, 3))).toEqual([]) // out of order but within tolerance: counted
    const fired = op.push(ev(12_000, 4)) // W = 10000
    expect(fired.map(view)).toEqual([{key: '', ws: 0, we: 10_000, c: 2, total: 4}])
  })

  it('a late event (its window fired) is dropped, counted, routed to onLate and never re-fires the window', () => {
    const late: WindowEvent<Row>[] = []
    const op = createTumblingWindow({sizeMs: 10_000}, totals, {onLate: (e) => late.push(e)})
    const out = run(op, [[1000, 1], [10_000, 2], [9000, 3]])
    expect(out.map(view)).toEqual([
      {key: '', ws: 0, we: 10_000, c: 1, total: 1},
      {key: '', ws: 10_000, we: 20_000, c: 1, total: 2},
    ])
    expect(late.map((e) => e.row.v)).toEqual([3])
    expect(op.stats()).toMatchObject({eventsIn: 3, lateDropped: 1, windowsFired: 2, openWindows: 0})
  })

  it('a window that received no rows for a key emits nothing', () => {
    const out = run(tenSeconds(), [[1000, 1], [45_000, 2]])
    expect(out.map((o) => o.windowStart)).toEqual([0, 40_000])
  })

  it('a filtered event does not become content, but it advances W', () => {
    const op = tenSeconds()
    op.push(ev(1000, 1))
    op.push(ev(2000, 50), false)
    const out = op.push(ev(30_000, 100), false)
    expect(out.map(view)).toEqual([{key: '', ws: 0, we: 10_000, c: 1, total: 1}])
    expect(op.end()).toEqual([])
  })

  it('end of input flushes every open window of every key', () => {
    const op = tenSeconds()
    run(op, [[1000, 1, 'a'], [12_000, 2, 'b'], [13_000, 3, 'a']], false)
    expect(op.stats().openWindows).toBe(2)
    expect(op.end().map(view)).toEqual([
      {key: 'a', ws: 10_000, we: 20_000, c: 1, total: 3},
      {key: 'b', ws: 10_000, we: 20_000, c: 1, total: 2},
    ])
    expect(op.stats().openWindows).toBe(0)
  })

  it('keyed windows: each key aggregates only its own events', () => {
    const out = run(tenSeconds(), [[1000, 1, 'b'], [2000, 10, 'a'], [3000, 2, 'b'], [4000, 20, 'a']])
    expect(out.map(view)).toEqual([
      {key: 'a', ws: 0, we: 10_000, c: 2, total: 30},
      {key: 'b', ws: 0, we: 10_000, c: 2, total: 3},
    ])
  })

  it('rows that fire on the same watermark advance are ordered by window_end, window_start, key', () => {
    const op = createTumblingWindow({sizeMs: 10_000}, totals, {lateToleranceMs: 30_000})
    const events: [number, number, string][] = [[15_000, 1, 'b'], [5000, 2, 'c'], [25_000, 3, 'a'], [5000, 4, 'a'], [15_000, 5, 'a']]
    for (const [ts, v, key] of events) expect(op.push(ev(ts, v, key))).toEqual([])
    const fired = op.advanceTo(40_000)
    expect(fired.map((o) => [o.windowEnd, o.key])).toEqual([
      [10_000, 'a'],
      [10_000, 'c'],
      [20_000, 'a'],
      [20_000, 'b'],
      [30_000, 'a'],
    ])
  })

  it('acks are released exactly once, with the window holding the event; late events are never held', () => {
    const released: unknown[] = []
    const op = createTumblingWindow({sizeMs: 10_000}, totals, {onRelease: (a) => released.push(...a)})
    const out = run(op, [[1000, 1], [2000, 2], [12_000, 3], [5000, 4], [13_000, 5]])
    expect(out.map((o) => o.acks)).toEqual([['ack:1', 'ack:2'], ['ack:3', 'ack:5']])
    expect(released).toEqual([])
  })

  it('stats count events_in, late_dropped, windows_fired, open_windows', () => {
    const op = tenSeconds()
    run(op, [[1000, 1, 'a'], [1000, 1, 'b'], [11_000, 1, 'a'], [500, 1, 'a']], false)
    expect(op.stats()).toEqual({eventsIn: 4, lateDropped: 1, windowsFired: 2, openWindows: 1, futureRejected: 0})
    op.end()
    expect(op.stats()).toEqual({eventsIn: 4, lateDropped: 1, windowsFired: 3, openWindows: 0, futureRejected: 0})
  })

  it('createWindowOperator builds the tumbling kind from a spec', () => {
    const op = createWindowOperator({kind: 'tumbling', sizeMs: 5000}, totals)
    expect(op.kind).toBe('tumbling')
    expect(run(op, [[4999, 1], [5000, 2]]).map((o) => o.windowStart)).toEqual([0, 5000])
  })
})

/**
 * A brute-force reading of the rules, written independently of the operator: an event is late iff its window's
 * end <= W before it arrived; a (key, window) fires at the first arrival after which W >= end (else at end of
 * input); rows of one arrival are ordered by end, start, key.
 */
function referenceTumbling(
  events: {ts: number; key: string; v: number; accepted: boolean}[],
  size: number,
  tolerance: number,
): {step: number; key: string; start: number; values: number[]}[] {
  const wAfter: number[] = []
  let maxTs = -Infinity
  for (const e of events) {
    maxTs = Math.max(maxTs, e.ts)
    wAfter.push(maxTs - tolerance)
  }
  const groups = new Map<string, {key: string; start: number; firstIndex: number; values: number[]}>()
  events.forEach((e, i) => {
    if (!e.accepted) return
    const start = Math.floor(e.ts / size) * size
    const wBefore = i === 0 ? -Infinity : wAfter[i - 1]
    if (start + size <= wBefore) return // late
    const id = `${e.key}\u0000${start}`
    const g = groups.get(id) ?? {key: e.key, start, firstIndex: i, values: []}
    g.values.push(e.v)
    groups.set(id, g)
  })
  const rows = [...groups.values()].map((g) => {
    let step = events.length // end-of-input flush
    for (let j = g.firstIndex; j < events.length; j++) {
      if (wAfter[j] >= g.start + size) {
        step = j
        break
      }
    }
    return {step, key: g.key, start: g.start, values: g.values}
  })
  return rows.sort((a, b) => a.step - b.step || a.start - b.start || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

describe('TUMBLINGWINDOW property: random streams match a brute-force reference', () => {
  it('gives identical rows, contents, firing points and late counts over 300 random streams', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = seededRandom(seed)
      const size = [1000, 5000, 10_000][seed % 3]
      const tolerance = [0, 0, 1500, 7000][seed % 4]
      const keys = ['a', 'b', 'c', 'd'].slice(0, 1 + (seed % 4))
      const events: {ts: number; key: string; v: number; accepted: boolean}[] = []
      let clock = Math.floor(rnd() * 50_000)
      const n = 20 + Math.floor(rnd() * 120)
      for (let i = 0; i < n; i++) {
        clock += Math.floor(rnd() * 2000)
        const jitter = rnd() < 0.3 ? Math.floor(rnd() * 15_000) : 0 // out of order, sometimes late
        events.push({ts: Math.max(0, clock - jitter), key: keys[Math.floor(rnd() * keys.length)], v: i, accepted: rnd() > 0.15})
      }
      const op = createTumblingWindow({sizeMs: size}, totals, {lateToleranceMs: tolerance})
      const actual: {step: number; key: string; start: number; values: number[]}[] = []
      const collect = (step: number, rows: WindowOutput<Totals>[]): void => {
        for (const o of rows) actual.push({step, key: o.key, start: o.windowStart, values: o.aggregates.values})
      }
      events.forEach((e, i) => collect(i, op.push({ts: e.ts, key: e.key, row: {v: e.v}}, e.accepted)))
      collect(events.length, op.end())
      const expected = referenceTumbling(events, size, tolerance)
      expect(actual, `seed ${seed}`).toEqual(expected)
      const held = expected.reduce((sum, r) => sum + r.values.length, 0)
      const accepted = events.filter((e) => e.accepted).length
      expect(op.stats(), `seed ${seed}`).toMatchObject({eventsIn: accepted, lateDropped: accepted - held, windowsFired: expected.length})
    }
  })
})
