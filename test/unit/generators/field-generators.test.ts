import {describe, expect, it} from 'vitest'
import {createFieldGenerator, createRng, type FieldValue, type SampleContext} from '../../../src/sim/generators/index.js'
import type {GeneratorSpec} from '../../../src/sim/scenario/index.js'

const T0 = Date.UTC(2026, 0, 5, 0, 0, 0)

/** Runs a generator for n messages every `everyMs`, in one mode. */
function series(spec: GeneratorSpec, n: number, everyMs = 1000, mode = 'default', seed = 1): FieldValue[] {
  const gen = createFieldGenerator(spec, {rng: createRng([seed, 'f', 0, 'x']), renderConstant: (t) => t})
  const out: FieldValue[] = []
  for (let i = 0; i < n; i++) {
    const ctx: SampleContext = {n: i, tsMs: T0 + i * everyMs, dtS: i === 0 ? 0 : everyMs / 1000, elapsedS: (i * everyMs) / 1000, mode}
    out.push(gen.next(ctx, () => 0))
  }
  return out
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)))

describe('numeric generators', () => {
  it('gaussian matches mean and stddev and prints at its resolution', () => {
    const xs = series({kind: 'gaussian', mean: 10, stddev: 2, resolution: 0.01}, 20_000) as number[]
    expect(mean(xs)).toBeCloseTo(10, 1)
    expect(std(xs)).toBeGreaterThan(1.9)
    expect(std(xs)).toBeLessThan(2.1)
    expect(xs.every((x) => String(x).split('.')[1] === undefined || String(x).split('.')[1].length <= 2)).toBe(true)
  })

  it('walk reverts to its mean from a distant start and stays inside [min, max]', () => {
    const xs = series({kind: 'walk', mean: 50, theta: 0.1, sigma: 2, start: 90, min: 40, max: 95, resolution: 0.1}, 5000) as number[]
    expect(xs[0]).toBe(90)
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(40)
    expect(Math.max(...xs)).toBeLessThanOrEqual(95)
    expect(mean(xs.slice(1000))).toBeCloseTo(50, 0)
    // OU stationary stddev = sigma / sqrt(2 theta) ≈ 4.47
    expect(std(xs.slice(1000))).toBeGreaterThan(3.5)
    expect(std(xs.slice(1000))).toBeLessThan(5.5)
  })

  it('walk uses the real dt: sparser samples move further between messages', () => {
    const spec: GeneratorSpec = {kind: 'walk', mean: 0, theta: 0, sigma: 1}
    const step = (xs: number[]) => mean(xs.slice(1).map((x, i) => Math.abs(x - xs[i])))
    expect(step(series(spec, 3000, 10_000) as number[])).toBeGreaterThan(2.5 * step(series(spec, 3000, 1000) as number[]))
  })

  it('uniform stays within bounds and covers them', () => {
    const xs = series({kind: 'uniform', min: -5, max: 5, resolution: 0.5}, 5000) as number[]
    expect(Math.min(...xs)).toBe(-5)
    expect(Math.max(...xs)).toBe(5)
    expect(xs.every((x) => Number.isInteger(x * 2))).toBe(true)
  })

  it('counter is monotonic, rolls over at wrap (never emitting it) and steps without float noise', () => {
    const xs = series({kind: 'counter', start: 0, step: 0.1, wrap: 1}, 25) as number[]
    expect(xs.slice(0, 12)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0, 0.1])
    for (let i = 1; i < xs.length; i++) if (xs[i] !== 0) expect(xs[i]).toBeGreaterThan(xs[i - 1])
  })

  it('counter wrap keeps the overflow, like a hardware counter (start + (value - start) mod (wrap - start))', () => {
    expect(series({kind: 'counter', step: 30, wrap: 100}, 8)).toEqual([0, 30, 60, 90, 20, 50, 80, 10])
    expect(series({kind: 'counter', start: 10, step: 30, wrap: 100}, 5)).toEqual([10, 40, 70, 10, 40])
    // A 16-bit register counting in thousands: 65000, then 66000 overflows to 464.
    expect(series({kind: 'counter', step: 1000, wrap: 65536}, 67).slice(65)).toEqual([65000, 464])
    // Counting down towards wrap rolls over to start the same way.
    expect(series({kind: 'counter', start: 5, step: -2, wrap: 0}, 6)).toEqual([5, 3, 1, 4, 2, 5])
  })

  it('counter keeps counting above 1e12 and prints at the decimals of its step', () => {
    expect(series({kind: 'counter', start: 1e12}, 3)).toEqual([1e12, 1e12 + 1, 1e12 + 2])
    expect(series({kind: 'counter', start: 5e14, step: 0.5}, 3)).toEqual([5e14, 5e14 + 0.5, 5e14 + 1])
    expect(series({kind: 'counter', start: 0.05, step: 0.1}, 4)).toEqual([0.05, 0.15, 0.25, 0.35])
  })

  it('pick frequencies follow the weights', () => {
    const xs = series({kind: 'pick', values: ['a', 'b', 'c'], weights: [6, 3, 1]}, 20_000)
    const share = (v: string) => xs.filter((x) => x === v).length / xs.length
    expect(share('a')).toBeCloseTo(0.6, 1)
    expect(share('b')).toBeCloseTo(0.3, 1)
    expect(share('c')).toBeCloseTo(0.1, 1)
  })

  it('sine repeats with its period and spans [min, max]', () => {
    const xs = series({kind: 'sine', min: 10, max: 20, period: 60_000, resolution: 0.01}, 240) as number[]
    expect(xs.slice(0, 60)).toEqual(xs.slice(60, 120))
    expect(Math.min(...xs)).toBeCloseTo(10, 1)
    expect(Math.max(...xs)).toBeCloseTo(20, 1)
  })

  it('sine with a daily profile follows the hourly multipliers (UTC)', () => {
    const daily = Array.from({length: 24}, (_, h) => (h >= 9 && h < 17 ? 1 : 0))
    const xs = series({kind: 'sine', min: 100, max: 100, period: 86_400_000, daily, resolution: 1}, 24, 3_600_000) as number[]
    expect(xs[3]).toBe(0)
    expect(xs[12]).toBe(100)
  })

  it('sine with a daily profile keeps negative values: bounds scale both ends by both extreme multipliers', () => {
    // Multiplier 1 except 0.5 at midnight: the bounds are [-10, 10], not [-10 × 0.5, 10 × 1].
    const daily = Array.from({length: 24}, (_, h) => (h === 0 ? 0.5 : 1))
    const xs = series({kind: 'sine', min: -10, max: 10, period: 3_600_000, daily, resolution: 0.01}, 240, 60_000) as number[]
    const hour2 = xs.slice(120, 180)
    expect(Math.min(...hour2)).toBe(-10)
    expect(Math.max(...hour2)).toBe(10)
  })

  it('drift moves by perHour and respects its bounds', () => {
    const xs = series({kind: 'drift', start: 100, perHour: -10, min: 0}, 13, 3_600_000) as number[]
    expect(xs[0]).toBe(100)
    expect(xs[5]).toBe(50)
    expect(xs[12]).toBe(0)
  })

  it('step holds a level and changes on schedule', () => {
    const xs = series({kind: 'step', levels: [1, 2, 3], every: 10_000}, 40)
    for (let i = 0; i < 40; i++) if (i % 10 !== 0) expect(xs[i]).toBe(xs[i - 1])
    expect(xs[10]).not.toBe(xs[9])
  })

  it('byMode overrides apply only in that mode', () => {
    const spec: GeneratorSpec = {kind: 'gaussian', mean: 10, stddev: 0.1, byMode: {idle: {mean: 50}}}
    expect(mean(series(spec, 500, 1000, 'running') as number[])).toBeCloseTo(10, 0)
    expect(mean(series(spec, 500, 1000, 'idle') as number[])).toBeCloseTo(50, 0)
  })
})

describe('other generators', () => {
  it('timestamp formats', () => {
    expect(series({kind: 'timestamp', format: 'epoch-ms'}, 1)[0]).toBe(T0)
    expect(series({kind: 'timestamp', format: 'epoch-s'}, 1)[0]).toBe(T0 / 1000)
    expect(series({kind: 'timestamp', format: 'iso'}, 1)[0]).toBe('2026-01-05T00:00:00.000Z')
  })

  it('uuid is v4-shaped, seeded and unique', () => {
    const a = series({kind: 'uuid'}, 1000)
    expect(new Set(a).size).toBe(1000)
    expect(a.every((u) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u as string))).toBe(true)
    expect(series({kind: 'uuid'}, 5)).toEqual(a.slice(0, 5))
    expect(series({kind: 'uuid'}, 5, 1000, 'default', 2)).not.toEqual(a.slice(0, 5))
  })

  it('sequence loops or holds the last value', () => {
    expect(series({kind: 'sequence', values: [1, 2, 3]}, 5)).toEqual([1, 2, 3, 1, 2])
    expect(series({kind: 'sequence', values: [1, 2, 3], loop: false}, 5)).toEqual([1, 2, 3, 3, 3])
  })
})
