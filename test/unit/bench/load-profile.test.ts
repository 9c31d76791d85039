import {describe, expect, it} from 'vitest'
import {
  DEFAULT_INFLIGHT_PER_CLIENT,
  buildLoadProfile,
  describeLoadProfile,
  equalShare,
  parseStage,
  parseStages,
  plannedCount,
  plannedTimeOf,
  ratePlan,
  splitProfile,
  weightedShare,
  type LoadStage,
  type RateProfile,
  type Share,
} from '../../../src/pacing/load-profile.js'
import {EXIT_CODES, UsageError} from '../../../src/errors.js'

function profileOf(...stages: LoadStage[]): RateProfile {
  return {kind: 'rate', stages}
}

function constant(rate: number, durationMs: number): RateProfile {
  return profileOf({durationMs, startRate: rate, endRate: rate})
}

function usageErrorOf(fn: () => unknown): UsageError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return error as UsageError
  }
  throw new Error('expected a UsageError')
}

/** The intended times of all of a profile's messages. */
function allTimes(profile: RateProfile): number[] {
  const plan = ratePlan(profile)
  return Array.from({length: plan.total}, (_, k) => plan.timeOf(k))
}

describe('parseStage', () => {
  it('reads DURATION:RATE as a ramp from the previous rate (0 for the first)', () => {
    expect(parseStage('30s:10000/s')).toEqual({durationMs: 30_000, startRate: 0, endRate: 10_000})
    expect(parseStage('1m:50000/s', 10_000)).toEqual({durationMs: 60_000, startRate: 10_000, endRate: 50_000})
    expect(parseStage(' 2m30s : 60/m ')).toEqual({durationMs: 150_000, startRate: 0, endRate: 1})
  })

  it('reads an explicit start rate, and zero rates', () => {
    expect(parseStage('10s:0/s..1000/s', 5000)).toEqual({durationMs: 10_000, startRate: 0, endRate: 1000})
    expect(parseStage('10s:2000/s..2000/s')).toEqual({durationMs: 10_000, startRate: 2000, endRate: 2000})
    expect(parseStage('5s:0/s', 800)).toEqual({durationMs: 5000, startRate: 800, endRate: 0})
    expect(parseStage('5s:0.0/m..0')).toEqual({durationMs: 5000, startRate: 0, endRate: 0})
    expect(parseStage('5s:0.5/s')).toEqual({durationMs: 5000, startRate: 0, endRate: 0.5})
  })

  it('chains stages, each from the end of the one before', () => {
    expect(parseStages(['10s:1000/s', '20s:1000/s', '5s:200/s..0/s', '5s:300/s'])).toEqual([
      {durationMs: 10_000, startRate: 0, endRate: 1000},
      {durationMs: 20_000, startRate: 1000, endRate: 1000},
      {durationMs: 5000, startRate: 200, endRate: 0},
      {durationMs: 5000, startRate: 0, endRate: 300},
    ])
  })

  it.each([
    ['', 'expected DURATION:RATE'],
    ['30s', 'expected DURATION:RATE'],
    ['10000/s', 'expected DURATION:RATE'],
    [':1000/s', 'the duration before ":" is missing'],
    ['30s:', 'the rate after ":" is missing'],
    ['30s:100/s:200/s', 'expected one ":"'],
    ['thirty:1000/s', '"thirty" is not a duration'],
    ['0s:1000/s', 'a stage must last longer than 0'],
    ['30s:fast', '"fast" is not a rate'],
    ['30s:-5/s', '"-5/s" is not a rate'],
    ['30s:1000/fortnight', '"1000/fortnight" is not a rate'],
    ['30s:0/x', '"0/x" is not a rate'],
    ['30s:100/s..', 'the end rate after ".." is missing'],
    ['30s:..100/s', 'the start rate before ".." is missing'],
    ['30s:1/s..2/s..3/s', 'a ramp has one ".."'],
  ])('rejects %j: %s', (text, why) => {
    const error = usageErrorOf(() => parseStage(text))
    expect(error.message.startsWith(`--stage "${text}": `)).toBe(true)
    expect(error.message).toContain(why)
    expect(error.exitCode).toBe(EXIT_CODES.usage)
    expect(error.suggestions[0]).toContain('--stage 10s:0/s..1000/s')
  })
})

describe('buildLoadProfile', () => {
  it('makes --rate one constant stage lasting --duration, or open-ended', () => {
    expect(buildLoadProfile({rate: '50000/s', durationMs: 30_000})).toEqual(constant(50_000, 30_000))
    const open = buildLoadProfile({rate: '2/500ms'}) as RateProfile
    expect(open.stages).toEqual([{durationMs: Number.POSITIVE_INFINITY, startRate: 4, endRate: 4}])
    expect(ratePlan(open).total).toBe(Number.POSITIVE_INFINITY)
    expect(plannedCount(open, 3_600_000)).toBe(14_400)
  })

  it('ends a run at --messages when that comes first', () => {
    const profile = buildLoadProfile({rate: '1000/s', messages: 1500}) as RateProfile
    expect(profile.limit).toBe(1500)
    expect(ratePlan(profile).total).toBe(1500)
    expect(plannedTimeOf(profile, 1499)).toBe(1499)
    expect(plannedTimeOf(profile, 1500)).toBe(Number.POSITIVE_INFINITY)
    expect(plannedCount(profile, 60_000)).toBe(1500)
    expect(ratePlan(buildLoadProfile({rate: '1000/s', durationMs: 1000, messages: 5000}) as RateProfile).total).toBe(1000)
  })

  it('builds stages and --rate max', () => {
    expect(buildLoadProfile({stages: ['30s:10000/s', '60s:50000/s']})).toEqual(
      profileOf({durationMs: 30_000, startRate: 0, endRate: 10_000}, {durationMs: 60_000, startRate: 10_000, endRate: 50_000}),
    )
    expect(buildLoadProfile({rate: 'max'})).toEqual({kind: 'max', inflightPerClient: DEFAULT_INFLIGHT_PER_CLIENT})
    expect(buildLoadProfile({rate: 'MAX', inflightPerClient: 8, durationMs: 10_000})).toEqual({kind: 'max', inflightPerClient: 8})
  })

  it.each([
    [{rate: '1000/s', stages: ['10s:100/s']}, '--rate and --stage cannot be combined'],
    [{stages: ['10s:100/s', '20s:200/s'], durationMs: 5000}, "--duration cannot be combined with --stage: the stages set the run's length (30s)"],
    [{}, 'no load given'],
    [{rate: 'lots'}, '--rate "lots": "lots" is not a rate'],
    [{rate: '0/s'}, '--rate "0/s": rate must be positive'],
    [{rate: '1000/s', messages: 0}, '--messages must be a whole number above 0'],
    [{rate: 'max', inflightPerClient: 0}, 'the in-flight window must be a whole number above 0'],
    [{stages: ['10s:0/s', '5s:0/s']}, 'the stages plan no messages'],
  ])('rejects %j', (options, message) => {
    const error = usageErrorOf(() => buildLoadProfile(options))
    expect(error.message).toContain(message)
  })
})

describe('a constant rate', () => {
  it.each([
    [1000, 10_000],
    [7, 60_000],
    [10_000, 3000],
    [333, 9000],
  ])('plans exactly ⌈r·u⌉ messages before u at %i/s over %i ms', (rate, durationMs) => {
    const profile = constant(rate, durationMs)
    const plan = ratePlan(profile)
    expect(plan.total).toBe(Math.ceil((rate * durationMs) / 1000))
    for (let u = 0; u <= durationMs + 50; u += 1) {
      // Whole numbers only: ⌈r·u/1000⌉ = ⌊(r·u + 999)/1000⌋, with no rounding anywhere.
      const expected = Math.min(plan.total, Math.floor((rate * u + 999) / 1000))
      if (plannedCount(profile, u) !== expected) expect.fail(`at ${u} ms: ${plannedCount(profile, u)} instead of ${expected}`)
    }
    expect(plannedTimeOf(profile, 0)).toBe(0)
    expect(plannedTimeOf(profile, 1)).toBeCloseTo(1000 / rate, 9)
    expect(plannedTimeOf(profile, plan.total - 1)).toBeCloseTo(((plan.total - 1) * 1000) / rate, 6)
    expect(plannedTimeOf(profile, plan.total)).toBe(Number.POSITIVE_INFINITY)
  })

  it('counts [0, u) strictly and [0, u] inclusively', () => {
    const plan = ratePlan(constant(1000, 10_000))
    expect(plan.countBefore(0)).toBe(0)
    expect(plan.countBy(0)).toBe(1)
    expect(plan.countBefore(5)).toBe(5)
    expect(plan.countBy(5)).toBe(6)
    expect(plan.countBy(5.5)).toBe(6)
    expect(plan.countBy(10_000)).toBe(10_000)
  })

  it('rejects an index that is not a whole number', () => {
    expect(() => plannedTimeOf(constant(10, 1000), -1)).toThrow(RangeError)
    expect(() => plannedTimeOf(constant(10, 1000), 1.5)).toThrow(RangeError)
  })
})

describe('a linear ramp', () => {
  it('plans the integral of the rate, at the analytic inverse times (0 → 1000/s over 10 s)', () => {
    // Λ(u) = u²/20,000 messages (u in ms), so message k leaves at √(20,000·k) ms; 5,000 messages in all.
    const profile = profileOf({durationMs: 10_000, startRate: 0, endRate: 1000})
    expect(ratePlan(profile).total).toBe(5000)
    for (let u = 0; u <= 10_000; u += 7) {
      expect(plannedCount(profile, u)).toBe(Math.floor((u * u + 19_999) / 20_000))
    }
    const times = allTimes(profile)
    times.forEach((t, k) => {
      if (Math.abs(t - Math.sqrt(20_000 * k)) > 1e-3) expect.fail(`message ${k} at ${t} ms, expected ${Math.sqrt(20_000 * k)}`)
    })
    expect(times.every((t, k) => k === 0 || t > times[k - 1])).toBe(true)
  })

  it('inverts a ramp down within 1 µs (2000/s → 500/s over 4 s)', () => {
    const [a, b, d] = [2000, 500, 4000]
    const profile = profileOf({durationMs: d, startRate: a, endRate: b})
    const lambda = (u: number): number => (a * u + ((b - a) * u * u) / (2 * d)) / 1000
    const c = (b - a) / (2 * d)
    // The textbook root, well conditioned here because c is far from 0.
    const inverse = (k: number): number => (-a + Math.sqrt(a * a + 4 * c * 1000 * k)) / (2 * c)
    expect(ratePlan(profile).total).toBe(5000)
    const times = allTimes(profile)
    times.forEach((t, k) => {
      if (Math.abs(t - inverse(k)) > 1e-3) expect.fail(`message ${k} at ${t} ms, expected ${inverse(k)}`)
    })
    expect(times.every((t, k) => k === 0 || t > times[k - 1])).toBe(true)
    for (let u = 1; u < d; u += 13) {
      const exact = lambda(u)
      if (Math.abs(exact - Math.round(exact)) < 1e-6) continue
      expect(plannedCount(profile, u)).toBe(Math.ceil(exact))
    }
  })

  it('stays exact when the start and end rates almost agree', () => {
    // c = 5e-11: the textbook root (−a + √(a² + 4cM))/(2c) loses most of its digits to cancellation here.
    const [a, b, d] = [1000, 1000.000001, 10_000]
    const profile = profileOf({durationMs: d, startRate: a, endRate: b})
    const c = (b - a) / (2 * d)
    for (const k of [1, 10, 999, 5000, 9999]) {
      const m = 1000 * k
      // Series of the root in c: M/a − cM²/a³ + 2c²M³/a⁵ …, the third term far below 1 µs here.
      expect(Math.abs(plannedTimeOf(profile, k) - (m / a - (c * m * m) / a ** 3))).toBeLessThan(1e-6)
    }
    // Λ(10 s) = 10,000.000005: the ramp's extra 5 millionths of a message make a 10,001st.
    expect(ratePlan(profile).total).toBe(10_001)
  })
})

describe('stages back to back', () => {
  // 0→1000/s over 2 s (1000), 1000/s for 3 s (3000), 1000→0/s over 1 s (500), paused 2 s, 500/s for 1 s (500).
  const profile = buildLoadProfile({stages: ['2s:1000/s', '3s:1000/s', '1s:0/s', '2s:0/s', '1s:500/s..500/s']}) as RateProfile
  const plan = ratePlan(profile)

  it('adds up the stages and resumes after a pause at its end', () => {
    expect(plan.total).toBe(5000)
    expect(plan.durationMs).toBe(9000)
    expect(plannedTimeOf(profile, 1000)).toBe(2000)
    expect(plannedTimeOf(profile, 1001)).toBe(2001)
    expect(plannedTimeOf(profile, 4000)).toBe(5000)
    // Λ(6 s) = 4500 exactly; nothing is planned during the pause, so message 4500 waits for the rate to resume.
    expect(plannedTimeOf(profile, 4499)).toBeLessThan(6000)
    expect(plannedTimeOf(profile, 4500)).toBe(8000)
    expect(plannedTimeOf(profile, 4999)).toBe(8998)
    expect(plannedCount(profile, 7000)).toBe(4500)
    expect(plan.countBefore(8000)).toBe(4500)
    expect(plan.countBy(8000)).toBe(4501)
    expect(plannedCount(profile, 20_000)).toBe(5000)
    expect(plan.rateAt(1000)).toBe(500)
    expect(plan.rateAt(5500)).toBe(500)
    expect(plan.rateAt(7000)).toBe(0)
    expect(plan.rateAt(9000)).toBe(0)
  })

  it('keeps counting and times consistent: message k is counted right after its time and not before', () => {
    const times = allTimes(profile)
    times.forEach((t, k) => {
      if (k > 0 && t < times[k - 1]) expect.fail(`time goes back at ${k}`)
      if (plan.countBefore(t) > k || plan.countBy(t) <= k) expect.fail(`message ${k} at ${t} ms is miscounted`)
    })
  })
})

describe('splitting a run', () => {
  const whole = buildLoadProfile({stages: ['3s:3000/s', '2s:1000/s', '1s:1001/s']}) as RateProfile
  const wholeTimes = allTimes(whole)

  function checkPartition(parts: RateProfile[]): void {
    const merged = parts.flatMap((p) => allTimes(p)).sort((x, y) => x - y)
    expect(merged).toEqual(wholeTimes)
    for (let u = 0; u <= 6100; u += 17) {
      const sum = parts.reduce((acc, p) => acc + plannedCount(p, u), 0)
      if (sum !== plannedCount(whole, u)) expect.fail(`at ${u} ms the shares plan ${sum}, the run ${plannedCount(whole, u)}`)
    }
  }

  it('gives n equal shares the run exactly, each within one message of a third', () => {
    const parts = [0, 1, 2].map((i) => splitProfile(whole, equalShare(i, 3)))
    checkPartition(parts)
    for (let u = 0; u <= 6100; u += 101) {
      for (const p of parts) expect(Math.abs(plannedCount(p, u) - plannedCount(whole, u) / 3)).toBeLessThan(1)
    }
    expect(ratePlan(parts[0]).rateAt(4000)).toBeCloseTo(2000 / 3, 9)
    expect(ratePlan(parts[1]).total + ratePlan(parts[0]).total + ratePlan(parts[2]).total).toBe(ratePlan(whole).total)
  })

  it('gives weighted shares the run exactly, spread over the period', () => {
    const weights = [4, 3, 3, 0]
    const parts = weights.map((_, i) => splitProfile(whole, weightedShare(weights, i)))
    checkPartition(parts)
    expect(weightedShare(weights, 0)).toEqual({period: 10, positions: [0, 3, 6, 9]})
    expect(ratePlan(parts[3]).total).toBe(0)
    for (let u = 0; u <= 6100; u += 101) {
      expect(Math.abs(plannedCount(parts[0], u) - (plannedCount(whole, u) * 4) / 10)).toBeLessThan(2)
    }
  })

  it('splits a shard again among its publishers (shards of 2 and 1 clients, then one share per client)', () => {
    const shards = [0, 1].map((i) => splitProfile(whole, weightedShare([2, 1], i)))
    const publishers = [
      splitProfile(shards[0], equalShare(0, 2)),
      splitProfile(shards[0], equalShare(1, 2)),
      splitProfile(shards[1], equalShare(0, 1)),
    ]
    checkPartition(publishers)
    expect(publishers.map((p) => ratePlan(p).fraction)).toEqual([1 / 3, 1 / 3, 1 / 3])
  })

  it('carries --messages into the shares', () => {
    const limited = buildLoadProfile({rate: '1000/s', messages: 10}) as RateProfile
    const totals = [0, 1, 2].map((i) => ratePlan(splitProfile(limited, equalShare(i, 3))).total)
    expect(totals).toEqual([4, 3, 3])
  })

  it('leaves --rate max alone and rejects shares that are not shares', () => {
    const max = buildLoadProfile({rate: 'max'})
    expect(splitProfile(max, equalShare(1, 4))).toBe(max)
    expect(() => equalShare(3, 3)).toThrow(RangeError)
    expect(() => weightedShare([1, 2], 2)).toThrow(RangeError)
    expect(() => weightedShare([0, 0], 0)).toThrow(RangeError)
    const notAShare: Share = {period: 4, positions: [2, 1]}
    expect(() => splitProfile(whole, notAShare)).toThrow(RangeError)
  })
})

describe('describeLoadProfile', () => {
  it('says what the run will do', () => {
    expect(describeLoadProfile(buildLoadProfile({stages: ['30s:10000/s', '1m:10000/s']}))).toBe(
      'ramp 0.0/s → 10,000/s over 30s, then 10,000/s for 1m',
    )
    expect(describeLoadProfile(buildLoadProfile({rate: '500/s', messages: 100}))).toBe('500/s until stopped, at most 100 messages')
    expect(describeLoadProfile(splitProfile(buildLoadProfile({rate: '900/s', durationMs: 5000}), equalShare(0, 3)))).toBe(
      '300/s for 5s (1/3 of the run)',
    )
    expect(describeLoadProfile(buildLoadProfile({rate: 'max', inflightPerClient: 16}))).toBe('max (closed loop, 16 in flight per client)')
  })
})
