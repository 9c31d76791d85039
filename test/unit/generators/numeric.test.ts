import {describe, expect, it} from 'vitest'
import {decimalsOf, quantize} from '../../../src/sim/generators/numeric.js'
import {hashUniform, hashUniformSeries} from '../../../src/sim/generators/prng.js'
import {seededRandom} from '../../helpers/seeded-random.js'

/** quantize as it was written first: round to the resolution, then print with its decimals and parse back. */
function quantizeByText(x: number, resolution: number): number {
  return Number((Math.round(x / resolution) * resolution).toFixed(decimalsOf(resolution)))
}

describe('quantize', () => {
  it('gives the very double the text round trip gives, for every resolution and magnitude', () => {
    const random = seededRandom(14)
    const resolutions = [1, 5, 0.5, 0.25, 0.1, 0.01, 0.05, 0.001, 0.125, 1e-4, 2.5e-5, 1e-7, 0.3, 1 / 3, 100, 1e-12]
    let compared = 0
    for (const resolution of resolutions) {
      for (let i = 0; i < 20_000; i++) {
        // Magnitudes from 1e-9 to 1e15, both signs, so both the arithmetic path and the text fallback are taken.
        const x = (random() < 0.5 ? -1 : 1) * random() * 10 ** Math.floor(random() * 24 - 9)
        const got = quantize(x, resolution)
        const want = quantizeByText(x, resolution)
        if (!Object.is(got, want)) expect({x, resolution, got}).toEqual({x, resolution, got: want})
        compared++
      }
    }
    expect(compared).toBe(resolutions.length * 20_000)
  })

  it('writes a negative zero as 0, as the text does', () => {
    expect(Object.is(quantize(-0.001, 0.01), 0)).toBe(true)
    expect(quantize(Number.NaN, 0.1)).toBeNaN()
  })
})

describe('hashUniformSeries', () => {
  it('draws what hashUniform draws for the same key', () => {
    const series = hashUniformSeries([42, 'presses', 17, 'jitter'])
    for (const n of [0, 1, 9, 10, 99, 12_345, 2 ** 31]) expect(series(n)).toBe(hashUniform([42, 'presses', 17, 'jitter', n]))
  })
})
