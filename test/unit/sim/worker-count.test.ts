import {describe, expect, it} from 'vitest'
import {defaultWorkerCount, scheduledRate} from '../../../src/sim/fleet/engine.js'
import type {DeviceSpec} from '../../../src/sim/types.js'

/** How many fleet workers a run starts when --workers is not given: from the connections and the message rate. */

describe('defaultWorkerCount', () => {
  it('spreads connections over the cores but one', () => {
    expect(defaultWorkerCount(100, 100, 2)).toBe(1)
    expect(defaultWorkerCount(10_000, 10_000, 2)).toBe(1)
    expect(defaultWorkerCount(10_000, 10_000, 8)).toBe(4)
    expect(defaultWorkerCount(100_000, 0, 8)).toBe(7)
    expect(defaultWorkerCount(1, 0, 1)).toBe(1)
  })

  it('gives a rate one worker cannot keep more workers, up to every core', () => {
    expect(defaultWorkerCount(1000, 100_000, 2)).toBe(1)
    expect(defaultWorkerCount(1000, 400_000, 2)).toBe(2)
    expect(defaultWorkerCount(1000, 400_000, 8)).toBe(3)
    expect(defaultWorkerCount(1000, 10_000_000, 8)).toBe(8)
  })
})

describe('scheduledRate', () => {
  it('adds up the devices’ schedules', () => {
    const every = (everyMs: number) => ({everyMs}) as DeviceSpec
    expect(scheduledRate([...Array.from({length: 1000}, () => every(10)), every(1000)])).toBeCloseTo(100_001)
    expect(scheduledRate([])).toBe(0)
  })
})
