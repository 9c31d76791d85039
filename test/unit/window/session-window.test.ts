import {describe, expect, it} from 'vitest'
import {createSessionWindow, createWindowOperator, type WindowEvent} from '../../../src/pipeline/window/index.js'
import {ev, run, totals, totalsWithoutMerge, view, type Row} from './window-test-kit.js'

/** SESSIONWINDOW(ss, 60, 5): maxDuration far away unless a test says otherwise. */
const sessions = (lateToleranceMs = 0) => createSessionWindow({maxDurationMs: 60_000, timeoutMs: 5000}, totals, {lateToleranceMs})

describe('SESSIONWINDOW', () => {
  it('events within the timeout form one session: window_start = first ts, window_end = last ts + timeout', () => {
    const op = sessions()
    expect(run(op, [[1000, 1], [3000, 2], [7000, 3]], false)).toEqual([])
    expect(op.push(ev(13_000, 4)).map(view)).toEqual([{key: '', ws: 1000, we: 12_000, c: 3, total: 6}])
    expect(op.end().map(view)).toEqual([{key: '', ws: 13_000, we: 18_000, c: 1, total: 4}])
  })

  it('a session fires when W > last + timeout, not when W = last + timeout', () => {
    const op = sessions()
    op.push(ev(0, 1))
    expect(op.advanceTo(5000)).toEqual([])
    expect(op.advanceTo(5001).map(view)).toEqual([{key: '', ws: 0, we: 5000, c: 1, total: 1}])
  })

  it('a gap equal to the timeout keeps the session open', () => {
    const out = run(sessions(), [[0, 1], [5000, 2], [10_000, 3]])
    expect(out.map(view)).toEqual([{key: '', ws: 0, we: 15_000, c: 3, total: 6}])
  })

  it('a bridging event merges two open sessions into one', () => {
    for (const agg of [totals, totalsWithoutMerge]) {
      const op = createSessionWindow({maxDurationMs: 60_000, timeoutMs: 5000}, agg, {lateToleranceMs: 10_000})
      op.push(ev(0, 1))
      op.push(ev(10_000, 2)) // 10000 > 0 + 5000: a second session
      expect(op.stats().openWindows).toBe(2)
      op.push(ev(5000, 3)) // within timeout of both
      expect(op.stats().openWindows).toBe(1)
      const out = op.end()
      expect(out.map(view)).toEqual([{key: '', ws: 0, we: 15_000, c: 3, total: 6}])
      expect(out[0].acks.sort()).toEqual(['ack:1', 'ack:2', 'ack:3'])
    }
  })

  it('an event joins an open session even with ts < W; it opens no new session if ts + timeout < W (late)', () => {
    const late: WindowEvent<Row>[] = []
    const op = createSessionWindow({maxDurationMs: 60_000, timeoutMs: 5000}, totals, {onLate: (e) => late.push(e)})
    op.push(ev(20_000, 1))
    op.push(ev(14_000, 2)) // 14000 < 20000 - 5000 and 14000 + 5000 < W = 20000: late
    op.push(ev(15_000, 3)) // joins the open session (first - timeout <= ts)
    op.push(ev(15_000, 4, 'other')) // new session: 15000 + 5000 = W is not late
    expect(late.map((e) => e.row.v)).toEqual([2])
    expect(op.end().map(view)).toEqual([
      {key: 'other', ws: 15_000, we: 20_000, c: 1, total: 4},
      {key: '', ws: 15_000, we: 25_000, c: 2, total: 4},
    ])
    expect(op.stats()).toMatchObject({eventsIn: 4, lateDropped: 1, windowsFired: 2, openWindows: 0})
  })

  it('maxDuration cuts at the smallest epoch-aligned multiple T with T - first > maxDuration; the rest starts at T', () => {
    for (const agg of [totals, totalsWithoutMerge]) {
      // SESSIONWINDOW(ss, 10, 5), an event every 3 s from 1 s to 31 s
      const op = createSessionWindow({maxDurationMs: 10_000, timeoutMs: 5000}, agg)
      const events = Array.from({length: 11}, (_, i) => [1000 + 3000 * i, i + 1] as const)
      const out = run(op, events)
      // T = 20000 (10000 - 1000 is not > 10000); the rest starts at 20000 and its next T is 40000
      expect(out.map(view)).toEqual([
        {key: '', ws: 1000, we: 20_000, c: 7, total: 28},
        {key: '', ws: 20_000, we: 36_000, c: 4, total: 38},
      ])
      expect(out.map((o) => o.acks)).toEqual([
        ['ack:1', 'ack:2', 'ack:3', 'ack:4', 'ack:5', 'ack:6', 'ack:7'],
        ['ack:8', 'ack:9', 'ack:10', 'ack:11'],
      ])
    }
  })

  it('maxDuration: no cut when the session has no events at or after T', () => {
    const op = createSessionWindow({maxDurationMs: 10_000, timeoutMs: 5000}, totals)
    const out = run(op, [[1000, 1], [5000, 2], [9000, 3], [13_000, 4], [17_000, 5]]) // T = 20000
    expect(out.map(view)).toEqual([{key: '', ws: 1000, we: 22_000, c: 5, total: 15}])
  })

  it('maxDuration: an event exactly at T belongs to the piece starting at T', () => {
    const op = createSessionWindow({maxDurationMs: 10_000, timeoutMs: 5000}, totals)
    const out = run(op, [[5000, 1], [9000, 2], [13_000, 3], [17_000, 4], [20_000, 5]]) // T = 20000
    expect(out.map(view)).toEqual([
      {key: '', ws: 5000, we: 20_000, c: 4, total: 10},
      {key: '', ws: 20_000, we: 25_000, c: 1, total: 5},
    ])
  })

  it('maxDuration multiples follow the offset', () => {
    const op = createSessionWindow({maxDurationMs: 10_000, timeoutMs: 5000}, totals, {offsetMs: 2000})
    // multiples are 12000, 22000, …; first = 5000, so T = 22000
    const out = run(op, [[5000, 1], [9000, 2], [13_000, 3], [17_000, 4], [21_000, 5], [22_000, 6], [25_000, 7]])
    expect(out.map(view)).toEqual([
      {key: '', ws: 5000, we: 22_000, c: 5, total: 15},
      {key: '', ws: 22_000, we: 30_000, c: 2, total: 13},
    ])
  })

  it('keyed sessions are independent and fire ordered by window_end, window_start, key', () => {
    const op = sessions(100_000)
    run(op, [[1000, 1, 'c'], [0, 2, 'b'], [1000, 3, 'a'], [500, 4, 'd'], [1000, 5, 'd']], false)
    expect(op.stats().openWindows).toBe(4)
    const out = op.advanceTo(1_000_000)
    expect(out.map((o) => [o.key, o.windowStart, o.windowEnd, o.aggregates.total])).toEqual([
      ['b', 0, 5000, 2],
      ['d', 500, 6000, 9],
      ['a', 1000, 6000, 3],
      ['c', 1000, 6000, 1],
    ])
  })

  it('end of input flushes every open session', () => {
    const op = createWindowOperator({kind: 'session', maxDurationMs: 60_000, timeoutMs: 5000}, totals)
    run(op, [[1000, 1, 'a'], [1500, 2, 'b']], false)
    expect(op.end().map((o) => o.key)).toEqual(['a', 'b'])
    expect(op.stats()).toMatchObject({openWindows: 0, windowsFired: 2})
  })

  it('a session extended many times keeps firing once, at its final last + timeout', () => {
    const op = sessions()
    const fired = []
    for (let ts = 0; ts <= 100_000; ts += 1000) fired.push(...op.push(ev(ts, 1)))
    expect(fired).toEqual([])
    expect(op.advanceTo(105_000)).toEqual([])
    expect(op.advanceTo(105_001).map(view)).toEqual([{key: '', ws: 0, we: 105_000, c: 101, total: 101}])
  })
})
