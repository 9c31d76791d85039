import {describe, expect, it} from 'vitest'
import {createSlidingWindow, createWindowOperator, type WindowEvent, type WindowOutput} from '../../../src/pipeline/window/index.js'
import {ev, totals, view, type Row, type Totals} from './window-test-kit.js'

describe('SLIDINGWINDOW', () => {
  it('left-open bounds: a 10 s window at 1 Hz holds 10 samples, not 11', () => {
    const op = createSlidingWindow({sizeMs: 10_000}, totals)
    let last: WindowOutput<Totals>[] = []
    for (let s = 1; s <= 20; s++) last = op.push(ev(s * 1000, s))
    expect(last.map(view)).toEqual([{key: '', ws: 10_000, we: 20_000, c: 10, total: 155}])
    expect(last[0].aggregates.values).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
  })

  it('every accepted event triggers when there is no OVER; each row fires on its own arrival with delay 0', () => {
    const op = createSlidingWindow({sizeMs: 3000}, totals)
    expect(op.push(ev(1000, 1)).map(view)).toEqual([{key: '', ws: -2000, we: 1000, c: 1, total: 1}])
    expect(op.push(ev(2000, 2)).map(view)).toEqual([{key: '', ws: -1000, we: 2000, c: 2, total: 3}])
    expect(op.push(ev(4000, 4)).map(view)).toEqual([{key: '', ws: 1000, we: 4000, c: 2, total: 6}])
  })

  it('delay: the trigger at t fires when W >= t + delay and holds t - size < ts <= t + delay', () => {
    const op = createSlidingWindow({sizeMs: 5000, delayMs: 2000}, totals)
    const trig = (ts: number, v: number, triggers: boolean) => op.push(ev(ts, v), true, triggers)
    expect(trig(1000, 1, false)).toEqual([])
    expect(trig(4000, 2, false)).toEqual([])
    expect(trig(5000, 3, true)).toEqual([]) // OVER (WHEN …) matched here
    expect(trig(6000, 4, false)).toEqual([]) // W = 6000 < 7000
    const fired = trig(7000, 5, false) // W = 7000 = t + delay
    expect(fired.map(view)).toEqual([{key: '', ws: 0, we: 7000, c: 5, total: 15}])
    expect(trig(8000, 6, false)).toEqual([])
    expect(op.end()).toEqual([]) // events that match no OVER condition create no rows
  })

  it('OVER (WHEN): only matching events create triggers, all accepted events are content', () => {
    const op = createSlidingWindow({sizeMs: 10_000}, totals)
    op.push(ev(1000, 1), true, false)
    op.push(ev(2000, 2), true, false)
    const out = op.push(ev(3000, 30), true, true)
    expect(out.map(view)).toEqual([{key: '', ws: -7000, we: 3000, c: 3, total: 33}])
  })

  it('events removed by WHERE/FILTER are never content but advance W and so fire triggers', () => {
    const op = createSlidingWindow({sizeMs: 5000, delayMs: 2000}, totals)
    op.push(ev(5000, 1))
    expect(op.push(ev(6000, 100), false)).toEqual([])
    const out = op.push(ev(7000, 100), false)
    expect(out.map(view)).toEqual([{key: '', ws: 0, we: 7000, c: 1, total: 1}])
  })

  it('an event with ts < W on arrival is late: dropped, counted, triggers nothing, never content', () => {
    const late: WindowEvent<Row>[] = []
    const op = createSlidingWindow({sizeMs: 10_000}, totals, {onLate: (e) => late.push(e)})
    const out = [5000, 8000, 6000, 9000].flatMap((ts, i) => op.push(ev(ts, i + 1)))
    expect(out.map((o) => [o.windowEnd, o.aggregates.values])).toEqual([
      [5000, [1]],
      [8000, [1, 2]],
      [9000, [1, 2, 4]],
    ])
    expect(late.map((e) => e.ts)).toEqual([6000])
    // ts equal to W is not late
    expect(op.push(ev(9000, 5)).map((o) => o.aggregates.values)).toEqual([[1, 2, 4, 5]])
    expect(op.stats()).toMatchObject({eventsIn: 5, lateDropped: 1, windowsFired: 4})
  })

  it('lateTolerance lets out-of-order events in as content and triggers', () => {
    const op = createSlidingWindow({sizeMs: 10_000}, totals, {lateToleranceMs: 3000})
    const out = [5000, 8000, 6000].flatMap((ts, i) => op.push(ev(ts, i + 1)))
    out.push(...op.end())
    expect(out.map((o) => [o.windowEnd, o.aggregates.values])).toEqual([
      [5000, [1]],
      [6000, [1, 3]],
      [8000, [1, 3, 2]],
    ])
  })

  it('keyed: a trigger aggregates only the events of its own key', () => {
    const op = createSlidingWindow({sizeMs: 10_000}, totals)
    op.push(ev(1000, 1, 'a'))
    op.push(ev(2000, 10, 'b'))
    const out = op.push(ev(3000, 2, 'a'))
    expect(out.map(view)).toEqual([{key: 'a', ws: -7000, we: 3000, c: 2, total: 3}])
  })

  it('rows are ordered by fire time, then t, then arrival (not by key)', () => {
    const op = createSlidingWindow({sizeMs: 10_000}, totals, {lateToleranceMs: 10_000})
    op.push(ev(5000, 1, 'b'))
    op.push(ev(3000, 2, 'c'))
    op.push(ev(3000, 3, 'a'))
    expect(op.stats().openWindows).toBe(3)
    expect(op.end().map((o) => [o.windowEnd, o.key])).toEqual([
      [3000, 'c'],
      [3000, 'a'],
      [5000, 'b'],
    ])
  })

  it('end of input fires every pending trigger', () => {
    const op = createSlidingWindow({sizeMs: 5000, delayMs: 60_000}, totals)
    op.push(ev(1000, 1))
    op.push(ev(2000, 2))
    expect(op.end().map(view)).toEqual([
      {key: '', ws: -4000, we: 61_000, c: 2, total: 3},
      {key: '', ws: -3000, we: 62_000, c: 2, total: 3},
    ])
  })

  it('stats: open_windows counts pending triggers', () => {
    const op = createWindowOperator({kind: 'sliding', sizeMs: 5000, delayMs: 2000}, totals)
    op.push(ev(1000, 1))
    op.push(ev(2000, 2))
    expect(op.stats()).toEqual({eventsIn: 2, lateDropped: 0, windowsFired: 0, openWindows: 2, futureRejected: 0})
    op.push(ev(3000, 3))
    expect(op.stats()).toMatchObject({windowsFired: 1, openWindows: 2})
  })
})

describe('SLIDINGWINDOW acks', () => {
  /** Runs a stream and logs, in emission order, every row and every onRelease call. */
  function logged(events: [number, number, string, boolean][], sizeMs: number, delayMs: number) {
    type Entry = {row: WindowOutput<Totals>} | {released: unknown[]}
    const log: Entry[] = []
    const op = createSlidingWindow({sizeMs, delayMs}, totals, {onRelease: (acks) => log.push({released: acks})})
    for (const [ts, v, key, triggers] of events) for (const row of op.push(ev(ts, v, key), true, triggers)) log.push({row})
    for (const row of op.end()) log.push({row})
    return log
  }

  it('every ack is released exactly once, never before the last row containing its event', () => {
    const events: [number, number, string, boolean][] = []
    for (let s = 1; s <= 30; s++) events.push([s * 1000, s, s % 3 === 0 ? 'b' : 'a', s % 4 !== 0])
    const log = logged(events, 3000, 1000)
    const releasedAt = new Map<unknown, number[]>()
    log.forEach((entry, i) => {
      const acks = 'row' in entry ? entry.row.acks : entry.released
      for (const a of acks) releasedAt.set(a, [...(releasedAt.get(a) ?? []), i])
    })
    for (let v = 1; v <= 30; v++) {
      const at = releasedAt.get(`ack:${v}`)
      expect(at, `ack of ${v}`).toHaveLength(1)
      const lastRow = log.reduce((last, entry, i) => ('row' in entry && entry.row.aggregates.values.includes(v) ? i : last), -1)
      expect(at![0], `ack of ${v} after its last row`).toBeGreaterThanOrEqual(lastRow)
    }
  })

  it("an idle key's events are released once W passes ts + size, without scanning keys", () => {
    const released: unknown[] = []
    const op = createSlidingWindow({sizeMs: 5000}, totals, {onRelease: (a) => released.push(...a)})
    op.push(ev(1000, 1, 'idle'), true, false)
    op.push(ev(2000, 2, 'busy'))
    op.push(ev(5999, 3, 'busy'))
    expect(released).toEqual([])
    op.push(ev(6000, 4, 'busy')) // W = 6000 = 1000 + size
    expect(released).toContain('ack:1')
  })

  it('an event evicted by the row that last contains it rides with that row', () => {
    // delay 0: a trigger at t contains (t - 5000, t]; at W = 7000 the event at 2000 is needed by nothing newer
    const op = createSlidingWindow({sizeMs: 5000}, totals, {lateToleranceMs: 5000})
    op.push(ev(2000, 1), true, false)
    op.push(ev(6000, 2))
    const out = op.push(ev(12_000, 3)) // W = 7000 fires the trigger at 6000, which holds 2000 and 6000
    expect(out.map((o) => [o.windowEnd, o.acks])).toEqual([[6000, ['ack:1']]])
  })
})
