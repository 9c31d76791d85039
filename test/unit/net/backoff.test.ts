import {describe, expect, it} from 'vitest'
import {backoffDelay, type BackoffOptions} from '../../../src/net/backoff.js'
import {seededRandom} from '../../helpers/seeded-random.js'


const base: BackoffOptions = {initialMs: 100, maxMs: 10_000, multiplier: 2, jitter: 'none'}

describe('backoffDelay', () => {
  it('grows exponentially and stops at the cap without jitter', () => {
    const delays = [0, 1, 2, 3, 6, 7, 50, 5000].map((n) => backoffDelay(n, base, () => 0.5))
    expect(delays).toEqual([100, 200, 400, 800, 6400, 10_000, 10_000, 10_000])
  })

  it('treats negative and fractional attempts as their floor, never below attempt 0', () => {
    expect(backoffDelay(-3, base, Math.random)).toBe(100)
    expect(backoffDelay(2.9, base, Math.random)).toBe(400)
  })

  it('full jitter stays within [0, cap) and reaches both ends of the range', () => {
    const opts = {...base, jitter: 'full' as const}
    expect(backoffDelay(3, opts, () => 0)).toBe(0)
    expect(backoffDelay(3, opts, () => 0.999_999)).toBeLessThan(800)
    expect(backoffDelay(3, opts, () => 0.999_999)).toBeGreaterThan(799)
    const rnd = seededRandom(1)
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelay(i % 12, opts, rnd)
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThan(Math.min(10_000, 100 * 2 ** (i % 12)))
    }
  })

  it('equal jitter keeps half the capped delay fixed', () => {
    const opts = {...base, jitter: 'equal' as const}
    expect(backoffDelay(2, opts, () => 0)).toBe(200)
    expect(backoffDelay(2, opts, () => 0.5)).toBe(300)
    expect(backoffDelay(20, opts, () => 0)).toBe(5000)
    expect(backoffDelay(20, opts, () => 0.999_999)).toBeLessThanOrEqual(10_000)
  })

  it('clamps a misbehaving random source into [0, 1)', () => {
    const opts = {...base, jitter: 'full' as const}
    expect(backoffDelay(0, opts, () => 1.5)).toBeLessThan(100)
    expect(backoffDelay(0, opts, () => -1)).toBe(0)
  })

  it('spreads a population of 1,000 clients that lost the broker at once (no synchronized storm)', () => {
    const opts: BackoffOptions = {initialMs: 1000, maxMs: 30_000, multiplier: 2, jitter: 'full'}
    /** Every client fails 4 attempts in a row; returns the most reconnects falling into one 100 ms bucket. */
    const worstBucket = (o: BackoffOptions, rnd: () => number): number => {
      const buckets = new Map<number, number>()
      for (let client = 0; client < 1000; client++) {
        let t = 0
        for (let attempt = 0; attempt < 4; attempt++) {
          t += backoffDelay(attempt, o, rnd)
          const bucket = Math.floor(t / 100)
          buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1)
        }
      }
      return Math.max(...buckets.values())
    }
    // Without jitter every client reconnects in the same instant, four times over.
    expect(worstBucket({...opts, jitter: 'none'}, seededRandom(1))).toBe(1000)
    // Full jitter: the first wave is uniform over 1 s, ~100 per 100 ms bucket, and the second wave (uniform over
    // 2 s) overlaps it: the worst bucket holds ~150-170, against 1,000 without jitter.
    expect(worstBucket(opts, seededRandom(42))).toBeLessThan(200)
    expect(worstBucket({...opts, jitter: 'equal'}, seededRandom(7))).toBeLessThan(250)
  })
})
