import {describe, expect, it} from 'vitest'
import {createCountWindow, createWindowOperator, type WindowOutput} from '../../../src/pipeline/window/index.js'
import {ev, totals, type Totals} from './window-test-kit.js'

function pushValues(n: number, m: number | undefined, values: number[], released: unknown[] = []) {
  const op = createCountWindow({size: n, hop: m}, totals, {onRelease: (a) => released.push(...a)})
  const out: WindowOutput<Totals>[] = []
  for (const v of values) out.push(...op.push(ev(v * 1000, v)))
  out.push(...op.end())
  return {op, out}
}

const range = (n: number) => Array.from({length: n}, (_, i) => i + 1)

describe('COUNTWINDOW', () => {
  it('example 3 of the semantics: COUNTWINDOW(3) over 1..7 emits 1-3 and 4-6; the 7th never fires', () => {
    const {out} = pushValues(3, undefined, range(7))
    expect(out.map((o) => ({c: o.aggregates.c, total: o.aggregates.total}))).toEqual([
      {c: 3, total: 6},
      {c: 3, total: 15},
    ])
  })

  it('m < n: after every m-th event, the latest n (overlapping windows)', () => {
    expect(pushValues(3, 1, range(5)).out.map((o) => o.aggregates.values)).toEqual([
      [1, 2, 3],
      [2, 3, 4],
      [3, 4, 5],
    ])
    // COUNTWINDOW(3, 2): the check at 2 holds only 2 events; then 4 -> [2,3,4], 6 -> [4,5,6]
    expect(pushValues(3, 2, range(7)).out.map((o) => o.aggregates.values)).toEqual([
      [2, 3, 4],
      [4, 5, 6],
    ])
  })

  it('m > n: after every m-th event, the latest n; events in between are in no window', () => {
    expect(pushValues(2, 5, range(11)).out.map((o) => o.aggregates.values)).toEqual([
      [4, 5],
      [9, 10],
    ])
  })

  it('a partial window is never emitted, not even at end of input; its acks are released', () => {
    const released: unknown[] = []
    const {op, out} = pushValues(4, undefined, range(6), released)
    expect(out).toHaveLength(1)
    expect(op.end()).toEqual([])
    expect(released).toEqual(['ack:5', 'ack:6'])
    expect(op.stats().openWindows).toBe(0)
  })

  it('time, watermark and lateness do not apply: arrival order decides', () => {
    const op = createCountWindow({size: 2}, totals)
    expect(op.push(ev(50_000, 1))).toEqual([])
    const [row] = op.push(ev(1000, 2)) // far in the past: not late
    expect(row.aggregates.values).toEqual([1, 2])
    expect(op.advanceTo(Number.MAX_SAFE_INTEGER)).toEqual([])
    expect(op.stats().lateDropped).toBe(0)
    // window_start/window_end are the smallest and largest ts in the window
    expect([row.windowStart, row.windowEnd]).toEqual([1000, 50_000])
  })

  it('events removed by WHERE/FILTER do not count', () => {
    const op = createCountWindow({size: 2}, totals)
    op.push(ev(1000, 1))
    expect(op.push(ev(2000, 2), false)).toEqual([])
    expect(op.push(ev(3000, 3)).map((o) => o.aggregates.values)).toEqual([[1, 3]])
  })

  it('keyed: each key counts its own events; rows come out in completion order', () => {
    const op = createWindowOperator({kind: 'count', size: 2, hop: 2}, totals)
    const out = [
      ...op.push(ev(1, 1, 'b')),
      ...op.push(ev(2, 2, 'a')),
      ...op.push(ev(3, 3, 'a')),
      ...op.push(ev(4, 4, 'b')),
      ...op.push(ev(5, 5, 'a')),
    ]
    expect(out.map((o) => [o.key, o.aggregates.values])).toEqual([
      ['a', [2, 3]],
      ['b', [1, 4]],
    ])
    expect(op.stats()).toEqual({eventsIn: 5, lateDropped: 0, windowsFired: 2, openWindows: 1, futureRejected: 0})
  })

  it('acks are released exactly once, each with the last window containing its event', () => {
    for (const [n, m] of [[3, 1], [3, 2], [2, 5], [3, 3], [4, 3]]) {
      const released: unknown[] = []
      const {out} = pushValues(n, m, range(20), released)
      const all = [...out.flatMap((o) => o.acks), ...released]
      expect(all.sort(), `COUNTWINDOW(${n}, ${m})`).toEqual(range(20).map((v) => `ack:${v}`).sort())
      out.forEach((o, i) => {
        for (const ack of o.acks) {
          const v = Number(String(ack).slice(4))
          expect(o.aggregates.values).toContain(v)
          expect(out.slice(i + 1).some((later) => later.aggregates.values.includes(v)), `ack:${v}`).toBe(false)
        }
      })
    }
  })
})
