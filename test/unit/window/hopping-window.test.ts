import {describe, expect, it} from 'vitest'
import {createHoppingWindow, createWindowOperator, type WindowEvent} from '../../../src/pipeline/window/index.js'
import {ev, run, totals, view, type Row} from './window-test-kit.js'

/** HOPPINGWINDOW(ss, 10, 5) */
const tenBy5 = (lateToleranceMs = 0) => createHoppingWindow({sizeMs: 10_000, hopMs: 5000}, totals, {lateToleranceMs})

describe('HOPPINGWINDOW', () => {
  it('an event belongs to every epoch-aligned [k*hop, k*hop + size) that contains its ts', () => {
    const out = run(tenBy5(), [[7000, 1]])
    expect(out.map(view)).toEqual([
      {key: '', ws: 0, we: 10_000, c: 1, total: 1},
      {key: '', ws: 5000, we: 15_000, c: 1, total: 1},
    ])
  })

  it('start inclusive, end exclusive: ts = 10000 is in [5000,15000) and [10000,20000), not [0,10000)', () => {
    const out = run(tenBy5(), [[10_000, 1]])
    expect(out.map((o) => [o.windowStart, o.windowEnd])).toEqual([
      [5000, 15_000],
      [10_000, 20_000],
    ])
  })

  it('offset shifts the hops', () => {
    const op = createHoppingWindow({sizeMs: 10_000, hopMs: 5000}, totals, {offsetMs: 1000})
    expect(run(op, [[5500, 1]]).map((o) => o.windowStart)).toEqual([-4000, 1000])
  })

  it('each window fires exactly once, when W >= end, in window_end order', () => {
    const op = tenBy5()
    expect(op.push(ev(6000, 1))).toEqual([])
    expect(op.push(ev(9999, 2))).toEqual([]) // W = 9999 < 10000
    expect(op.push(ev(10_000, 3)).map(view)).toEqual([{key: '', ws: 0, we: 10_000, c: 2, total: 3}])
    expect(op.push(ev(14_000, 4))).toEqual([])
    expect(op.push(ev(15_000, 5)).map(view)).toEqual([{key: '', ws: 5000, we: 15_000, c: 4, total: 10}])
    expect(op.end().map(view)).toEqual([
      {key: '', ws: 10_000, we: 20_000, c: 3, total: 12},
      {key: '', ws: 15_000, we: 25_000, c: 1, total: 5},
    ])
    expect(op.end()).toEqual([])
  })

  it('lateness is per window: an event joins its windows that have not fired and is not late', () => {
    const op = tenBy5()
    op.push(ev(1000, 1))
    expect(op.push(ev(10_000, 2)).map((o) => o.windowStart)).toEqual([-5000, 0]) // W = 10000
    op.push(ev(7000, 3)) // [0,10000) fired, [5000,15000) open
    expect(op.stats().lateDropped).toBe(0)
    expect(op.end().map(view)).toEqual([
      {key: '', ws: 5000, we: 15_000, c: 2, total: 5},
      {key: '', ws: 10_000, we: 20_000, c: 1, total: 2},
    ])
  })

  it('an event is dropped as late only when all of its windows have fired', () => {
    const late: WindowEvent<Row>[] = []
    const op = createHoppingWindow({sizeMs: 10_000, hopMs: 5000}, totals, {onLate: (e) => late.push(e)})
    run(op, [[1000, 1], [15_000, 2], [7000, 3]], false) // W = 15000: [0,10000) and [5000,15000) fired
    expect(late.map((e) => e.row.v)).toEqual([3])
    expect(op.stats().lateDropped).toBe(1)
    expect(op.end().map(view)).toEqual([
      {key: '', ws: 10_000, we: 20_000, c: 1, total: 2},
      {key: '', ws: 15_000, we: 25_000, c: 1, total: 2},
    ])
  })

  it('lateTolerance keeps windows open for out-of-order events', () => {
    const op = tenBy5(6000)
    const out = run(op, [[1000, 1], [15_000, 2], [7000, 3]]) // W = 9000 after the second event
    expect(op.stats().lateDropped).toBe(0)
    expect(out.map(view).slice(0, 3)).toEqual([
      {key: '', ws: -5000, we: 5000, c: 1, total: 1},
      {key: '', ws: 0, we: 10_000, c: 2, total: 4},
      {key: '', ws: 5000, we: 15_000, c: 1, total: 3},
    ])
  })

  it("an event's ack is released once, with the last of its windows to fire", () => {
    const op = tenBy5()
    const out = run(op, [[7000, 1], [12_000, 2]])
    expect(out.map((o) => [o.windowStart, o.acks])).toEqual([
      [0, []],
      [5000, ['ack:1']],
      [10_000, ['ack:2']],
    ])
  })

  it('an event accepted only by the not-yet-fired window acks with that window', () => {
    const op = tenBy5()
    const out = run(op, [[1000, 1], [10_000, 2], [7000, 3]])
    const acks = out.flatMap((o) => o.acks)
    expect(acks.sort()).toEqual(['ack:1', 'ack:2', 'ack:3'])
    expect(out.find((o) => o.windowStart === 5000)?.acks).toEqual(['ack:3'])
  })

  it('with hop > size an event in a gap joins no window: not late, its ack released at once', () => {
    const released: unknown[] = []
    const op = createHoppingWindow({sizeMs: 2000, hopMs: 5000}, totals, {onRelease: (a) => released.push(...a)})
    const out = run(op, [[1000, 1], [3000, 2], [5500, 3]])
    expect(out.map(view)).toEqual([
      {key: '', ws: 0, we: 2000, c: 1, total: 1},
      {key: '', ws: 5000, we: 7000, c: 1, total: 3},
    ])
    expect(released).toEqual(['ack:2'])
    expect(op.stats().lateDropped).toBe(0)
  })

  it('keyed windows fire per key, ordered by window_end, window_start, key', () => {
    const op = createWindowOperator({kind: 'hopping', sizeMs: 10_000, hopMs: 5000}, totals)
    const out = run(op, [[7000, 1, 'b'], [8000, 2, 'a']])
    expect(out.map((o) => [o.windowStart, o.key, o.aggregates.total])).toEqual([
      [0, 'a', 2],
      [0, 'b', 1],
      [5000, 'a', 2],
      [5000, 'b', 1],
    ])
  })

  it('stats: open_windows counts (window, key) pairs', () => {
    const op = tenBy5()
    run(op, [[7000, 1, 'a'], [7000, 1, 'b']], false)
    expect(op.stats()).toMatchObject({eventsIn: 2, openWindows: 4, windowsFired: 0})
    op.end()
    expect(op.stats()).toMatchObject({openWindows: 0, windowsFired: 4})
  })
})
