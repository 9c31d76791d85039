import {describe, expect, it} from 'vitest'
import {buildLoadProfile, equalShare, splitProfile, type RateProfile} from '../../../src/pacing/load-profile.js'
import {OpenLoopScheduler, WindowedSender, type DueRange, type OpenLoopOptions} from '../../../src/pacing/open-loop.js'

/** A clock the test moves by hand. */
class FakeClock {
  constructor(public ms = 0) {}
  readonly now = (): number => this.ms
}

function rateProfile(options: Parameters<typeof buildLoadProfile>[0]): RateProfile {
  const profile = buildLoadProfile(options)
  if (profile.kind !== 'rate') throw new Error('expected an open-model profile')
  return profile
}

function scheduler(profile: RateProfile, clock: FakeClock, options: Partial<OpenLoopOptions> = {}): OpenLoopScheduler {
  return new OpenLoopScheduler(profile, {now: clock.now, maxBatch: 1_000_000, ...options})
}

/** Everything a publisher would send, with intended times: drains due() at each clock reading. */
function drain(s: OpenLoopScheduler, sent: Array<{index: number; intended: number; at: number}>, at: number): DueRange[] {
  const batches: DueRange[] = []
  while (true) {
    const r = s.due(at)
    batches.push(r)
    for (let i = r.from; i < r.from + r.count; i++) sent.push({index: i, intended: s.intendedAt(i), at})
    if (r.count === 0) return batches
  }
}

describe('OpenLoopScheduler at a constant rate', () => {
  it('hands out exactly the messages whose time has come, ±0, stepping 1 ms', () => {
    const clock = new FakeClock(12_345.5)
    const s = scheduler(rateProfile({rate: '1000/s', durationMs: 10_000}), clock)
    let taken = 0
    for (let t = 0; t <= 10_100; t++) {
      clock.ms = 12_345.5 + t
      const r = s.due()
      expect(r.from).toBe(taken)
      taken += r.count
      if (taken !== Math.min(t + 1, 10_000)) expect.fail(`at ${t} ms ${taken} taken, expected ${Math.min(t + 1, 10_000)}`)
      if (r.count && s.intendedAt(r.from) !== 12_345.5 + r.from) expect.fail(`message ${r.from} stamped ${s.intendedAt(r.from)}`)
    }
    expect(s.done).toBe(true)
    expect(s.stats()).toEqual({planned: 10_000, taken: 10_000, dropped: 0, late: 0, backlog: 0, worstLagMs: 0})
    expect(s.nextDueAt()).toBe(Number.POSITIVE_INFINITY)
  })

  it('counts as late what leaves more than one interval after its time, stepping 10 ms', () => {
    const clock = new FakeClock()
    const s = scheduler(rateProfile({rate: '1000/s', durationMs: 1000}), clock)
    expect(s.due(0)).toEqual({from: 0, count: 1, dropped: 0})
    // At 10 ms messages 1..10 are due; 1..8 are more than 1 ms late, 9 is exactly 1 ms late, 10 is on time.
    expect(s.due(10)).toEqual({from: 1, count: 10, dropped: 0})
    expect(s.stats(10)).toMatchObject({taken: 11, late: 8, worstLagMs: 9})
    for (let t = 20; t <= 1000; t += 10) s.due(t)
    // 8 late per step; the last message (999, taken at 1000) has no successor and is exactly 1 ms late.
    expect(s.stats()).toMatchObject({planned: 1000, taken: 1000, dropped: 0, late: 8 * 100})
  })

  it('tolerates lateness below lateAfterMs', () => {
    const clock = new FakeClock()
    const s = scheduler(rateProfile({rate: '1000/s', durationMs: 1000}), clock, {lateAfterMs: 5})
    s.due(0)
    s.due(10)
    // Only messages 1..4 are more than 5 ms late at 10 ms.
    expect(s.stats(10).late).toBe(4)
  })

  it('caps a batch at maxBatch and hands out the rest on the next calls', () => {
    const clock = new FakeClock()
    const s = scheduler(rateProfile({rate: '1000/s', durationMs: 1000}), clock, {maxBatch: 30})
    const counts = drain(s, [], 100).map((r) => r.count)
    expect(counts).toEqual([30, 30, 30, 11, 0])
  })

  it('tells the caller when to wake up', () => {
    const clock = new FakeClock(1000)
    const s = scheduler(rateProfile({rate: '10/s', durationMs: 1000}), clock)
    expect(s.nextDueAt()).toBe(1000)
    expect(s.due(1000).count).toBe(1)
    expect(s.nextDueAt()).toBe(1100)
    expect(s.due(1050).count).toBe(0)
    expect(s.nextDueAt()).toBe(1100)
    expect(s.due(1250).count).toBe(2)
    expect(s.nextDueAt()).toBe(1300)
    s.due(5000)
    expect(s.done).toBe(true)
    expect(s.nextDueAt()).toBe(Number.POSITIVE_INFINITY)
  })

  it('never un-plans when the clock reads backwards', () => {
    const clock = new FakeClock()
    const s = scheduler(rateProfile({rate: '1000/s', durationMs: 1000}), clock)
    expect(s.due(100).count).toBe(101)
    expect(s.due(50)).toEqual({from: 101, count: 0, dropped: 0})
    expect(s.stats(50).planned).toBe(101)
  })
})

describe('OpenLoopScheduler when the caller stalls', () => {
  it('drops exactly the messages older than maxLag at the resume, and sends the rest late with their own times', () => {
    const clock = new FakeClock(500)
    const s = scheduler(rateProfile({rate: '1000/s', durationMs: 10_000}), clock, {maxLagMs: 1000})
    const sent: Array<{index: number; intended: number; at: number}> = []
    for (let t = 0; t <= 2000; t++) drain(s, sent, 500 + t)
    expect(s.stats(2500)).toMatchObject({taken: 2001, dropped: 0, late: 0})

    // A 3 s stall: the next call comes at 5000 ms. Messages 2001..3999 are more than 1 s old: dropped.
    // Message 4000 is exactly 1 s old: sent, as are 4001..5000, all stamped with their intended times.
    const resume = drain(s, sent, 500 + 5000)
    expect(resume[0]).toEqual({from: 4000, count: 1001, dropped: 1999})
    const afterStall = sent.filter((m) => m.at === 5500)
    expect(afterStall.map((m) => m.index)).toEqual(Array.from({length: 1001}, (_, i) => 4000 + i))
    expect(afterStall.every((m) => m.intended === 500 + m.index)).toBe(true)
    // 4000..4998 left more than 1 ms (one interval) late; 4999 exactly 1 ms late and 5000 on time are not late.
    expect(s.stats()).toMatchObject({planned: 5001, taken: 3002, dropped: 1999, late: 999, backlog: 0, worstLagMs: 1000})

    for (let t = 5001; t <= 10_000; t++) drain(s, sent, 500 + t)
    const final = s.finish(500 + 10_000)
    expect(final).toMatchObject({planned: 10_000, taken: 8001, dropped: 1999, backlog: 0})
    expect(final.taken + final.dropped).toBe(final.planned)
    expect(sent).toHaveLength(8001)
    expect(new Set(sent.map((m) => m.index)).size).toBe(8001)
  })

  it('drops nothing with maxLagMs Infinity, however long the stall', () => {
    const clock = new FakeClock()
    const s = scheduler(rateProfile({rate: '1000/s', durationMs: 10_000}), clock, {maxLagMs: Number.POSITIVE_INFINITY})
    s.due(0)
    expect(s.due(9000)).toEqual({from: 1, count: 9000, dropped: 0})
    expect(s.stats().worstLagMs).toBe(8999)
  })

  it('counts what was due but never taken as dropped when the run ends', () => {
    const clock = new FakeClock()
    const s = scheduler(rateProfile({rate: '1000/s', durationMs: 10_000}), clock, {maxBatch: 100})
    for (let t = 0; t <= 500; t++) s.due(t)
    expect(s.stats(800)).toMatchObject({planned: 801, taken: 501, dropped: 0, backlog: 300})
    expect(s.finish(800)).toEqual({planned: 801, taken: 501, dropped: 300, late: 0, backlog: 0, worstLagMs: 0})
    expect(s.due(900).count).toBe(0)
    expect(s.done).toBe(true)
    expect(s.nextDueAt()).toBe(Number.POSITIVE_INFINITY)
    expect(s.stats(5000).planned).toBe(801)
  })
})

describe('OpenLoopScheduler on ramps and shares', () => {
  it('follows a ramp: never early, never behind, the integral in all', () => {
    const clock = new FakeClock()
    const s = scheduler(rateProfile({stages: ['10s:1000/s']}), clock)
    let previous = Number.NEGATIVE_INFINITY
    for (let t = 0; t <= 10_000; t += 3) {
      const r = s.due(t)
      for (let i = r.from; i < r.from + r.count; i++) {
        const intended = s.intendedAt(i)
        if (intended > t || intended < previous) expect.fail(`message ${i} intended at ${intended}, taken at ${t}`)
        previous = intended
      }
      if (s.nextDueAt() <= t) expect.fail(`message ${r.from + r.count} was due at ${t} but not taken`)
    }
    expect(s.stats()).toMatchObject({planned: 5000, taken: 5000, dropped: 0})
  })

  it('lets three publishers send one run between them, exactly', () => {
    const whole = rateProfile({rate: '1000/s', durationMs: 1000})
    const clock = new FakeClock()
    const publishers = [0, 1, 2].map((i) => scheduler(splitProfile(whole, equalShare(i, 3)), clock))
    const intended: number[] = []
    for (let t = 0; t <= 1001; t += 7) {
      for (const p of publishers) {
        const r = p.due(t)
        for (let i = r.from; i < r.from + r.count; i++) intended.push(p.intendedAt(i))
      }
    }
    expect(intended.sort((a, b) => a - b)).toEqual(Array.from({length: 1000}, (_, k) => k))
    expect(publishers.map((p) => p.stats().taken)).toEqual([334, 333, 333])
  })

  it('rejects options that make no sense', () => {
    const profile = rateProfile({rate: '10/s'})
    const now = (): number => 0
    expect(() => new OpenLoopScheduler(profile, {now, maxBatch: 0})).toThrow(RangeError)
    expect(() => new OpenLoopScheduler(profile, {now, maxLagMs: -1})).toThrow(RangeError)
    expect(() => new OpenLoopScheduler(profile, {now, lateAfterMs: Number.NaN})).toThrow(RangeError)
  })
})

describe('WindowedSender', () => {
  it('keeps at most maxInFlight messages un-acknowledged', () => {
    const w = new WindowedSender(3)
    expect(w.canSend()).toBe(true)
    w.sent(2)
    w.sent()
    expect(w.canSend()).toBe(false)
    expect(w.available()).toBe(0)
    expect(() => w.sent()).toThrow(/1 sent with only 0 of 3 free/)
    w.acked(2)
    expect(w.inFlight).toBe(1)
    expect(w.available()).toBe(2)
    expect(w.canSend()).toBe(true)
    expect(() => w.acked(2)).toThrow(/2 acked with only 1 in flight/)
    w.acked()
    expect(w.stats()).toEqual({sent: 3, acked: 3, inFlight: 0, peakInFlight: 3})
    expect(() => new WindowedSender(0)).toThrow(RangeError)
    expect(() => w.sent(1.5)).toThrow(RangeError)
  })
})
