import {describe, expect, it} from 'vitest'
import {createTumblingWindow, DEFAULT_MAX_FUTURE_SKEW_MS, FutureSkewGuard, Watermark} from '../../../src/pipeline/window/index.js'
import {ev, totals, view} from './window-test-kit.js'

describe('watermark', () => {
  it('W starts at minus infinity', () => {
    expect(new Watermark().value).toBe(-Infinity)
  })

  it('W = max(ts seen so far) - lateTolerance after each event', () => {
    const w = new Watermark(2000)
    w.observe(10_000)
    expect(w.value).toBe(8000)
    w.observe(15_000)
    expect(w.value).toBe(13_000)
    expect(w.maxEventTime).toBe(15_000)
  })

  it('W never decreases when an older event arrives', () => {
    const w = new Watermark()
    expect(w.observe(5000)).toBe(true)
    expect(w.observe(3000)).toBe(false)
    expect(w.value).toBe(5000)
  })

  it('lateTolerance defaults to 0', () => {
    const w = new Watermark()
    w.observe(1234)
    expect(w.value).toBe(1234)
  })

  it('end of a finite source sets W = +infinity', () => {
    const w = new Watermark()
    w.observe(1000)
    expect(w.end()).toBe(true)
    expect(w.value).toBe(Infinity)
  })

  it('advanceTo raises W but never lowers it', () => {
    const w = new Watermark()
    w.observe(5000)
    expect(w.advanceTo(4000)).toBe(false)
    expect(w.value).toBe(5000)
    expect(w.advanceTo(9000)).toBe(true)
    expect(w.value).toBe(9000)
    // a later event below the advanced W does not pull it back
    w.observe(7000)
    expect(w.value).toBe(9000)
  })

  it('rejects a negative lateTolerance', () => {
    expect(() => new Watermark(-1)).toThrow(/lateTolerance/)
  })

  it('events that WHERE/FILTER removes still advance W (and fire windows)', () => {
    const op = createTumblingWindow({sizeMs: 10_000}, totals)
    op.push(ev(1000, 1))
    const fired = op.push(ev(10_000, 99), false)
    expect(op.watermark).toBe(10_000)
    expect(fired.map(view)).toEqual([{key: '', ws: 0, we: 10_000, c: 1, total: 1}])
    expect(op.stats().eventsIn).toBe(1)
  })

  it('late events also count as arrivals for W (they cannot lower it)', () => {
    const op = createTumblingWindow({sizeMs: 10_000}, totals, {lateToleranceMs: 0})
    op.push(ev(12_000, 1))
    op.push(ev(1000, 2)) // late
    expect(op.watermark).toBe(12_000)
    expect(op.stats().lateDropped).toBe(1)
  })
})

describe('maxFutureSkew', () => {
  it('defaults to 5 minutes', () => {
    expect(DEFAULT_MAX_FUTURE_SKEW_MS).toBe(300_000)
    const guard = new FutureSkewGuard({now: () => 1_000_000})
    expect(guard.admits(1_000_000 + 300_000)).toBe(true)
    expect(guard.admits(1_000_000 + 300_001)).toBe(false)
    expect(guard.rejected).toBe(1)
  })

  it('an event too far ahead of the wall clock is rejected, counted and does not move W', () => {
    let now = 100_000
    const rejected: number[] = []
    const op = createTumblingWindow({sizeMs: 10_000}, totals, {
      futureSkew: {now: () => now, maxFutureSkewMs: 60_000},
      onFutureSkew: (e) => rejected.push(e.ts),
    })
    op.push(ev(95_000, 1))
    expect(op.push(ev(10_000_000, 2))).toEqual([]) // a device with a wrong clock
    expect(op.watermark).toBe(95_000)
    op.push(ev(99_000, 3)) // everyone else's data is not late
    expect(op.stats()).toMatchObject({eventsIn: 2, lateDropped: 0, futureRejected: 1})
    expect(rejected).toEqual([10_000_000])
    now = 10_000_000 // once the wall clock catches up the same ts is admitted
    op.push(ev(10_000_000, 4))
    expect(op.stats().futureRejected).toBe(1)
  })
})
