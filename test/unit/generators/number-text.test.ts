import {describe, expect, it} from 'vitest'
import {numberText} from '../../../src/sim/generators/number-text.js'
import {quantize} from '../../../src/sim/generators/numeric.js'

/** Every value through one slot, as a field's readings go, and through a fresh slot: both must print String(v). */
function expectStringText(values: number[]): void {
  const running = new Uint8Array(1)
  for (const v of values) {
    expect(numberText(v, running, 0), `${v} (running hint)`).toBe(String(v))
    expect(numberText(v, new Uint8Array(1), 0), `${v} (fresh hint)`).toBe(String(v))
  }
}

/** A small seeded generator (xorshift), so a failure names a value that comes back on the next run. */
function seeded(seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

describe('numberText', () => {
  it('prints quantised readings exactly as String does, at every resolution the generators use', () => {
    const random = seeded(7)
    for (const resolution of [1, 0.5, 0.25, 0.1, 0.05, 0.01, 0.001, 0.0001, 1e-5, 1e-6, 5, 10]) {
      const values: number[] = []
      for (let i = 0; i < 2000; i++) {
        const magnitude = 10 ** Math.floor(random() * 10 - 3)
        values.push(quantize((random() - 0.5) * 2 * magnitude, resolution))
      }
      expectStringText(values)
    }
  })

  it('prints integers (epoch-ms timestamps, counters) as String does, past 2^31 too', () => {
    const random = seeded(11)
    const values = [0, -0, 1, -1, 9, 10, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 1_700_000_000_000, 1_796_000_000_123, 999_999_999_999_999, 1e15, 2 ** 53, 1e21, 1e22]
    for (let i = 0; i < 2000; i++) values.push(Math.floor(random() * 2 ** 52) * (random() < 0.5 ? -1 : 1))
    expectStringText(values)
  })

  it('falls back to String for values that are not short decimals, and for the edges where String uses an exponent', () => {
    const random = seeded(13)
    const values = [0.1 + 0.2, 1 / 3, Math.PI, 1e-6, 1e-7, -1e-7, 1.5e-6, 123456.789012, 0.000001, 0.0000015, 5e-324, Number.MAX_VALUE, 1e20, 1.5e20]
    for (let i = 0; i < 2000; i++) values.push((random() - 0.5) * 10 ** Math.floor(random() * 40 - 20))
    expectStringText(values)
  })

  it('remembers the most decimals a slot needed; a value that is no short decimal leaves the hint as it was', () => {
    const hints = new Uint8Array(1)
    numberText(2.47, hints, 0)
    expect(hints[0]).toBe(2)
    // A whole number read at two decimals is still printed without a point.
    expect(numberText(3, hints, 0)).toBe('3')
    expect(hints[0]).toBe(2)
    // A commanded 21.123456789 once: printed by String, and the readings after it keep their fast path.
    expect(numberText(21.123456789, hints, 0)).toBe('21.123456789')
    expect(hints[0]).toBe(2)
    expect(numberText(2.5, hints, 0)).toBe('2.5')
    expect(hints[0]).toBe(2)
  })
})
