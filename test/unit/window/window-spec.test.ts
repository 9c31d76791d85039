import {describe, expect, it} from 'vitest'
import {UsageError} from '../../../src/errors.js'
import {isWindowCall, TIME_UNIT_MS, timeUnitMs, validateWindowSpec, windowSpecFromCall} from '../../../src/pipeline/window/index.js'

describe('window time units', () => {
  it('DD HH MI SS MS map to milliseconds', () => {
    expect(TIME_UNIT_MS).toEqual({DD: 86_400_000, HH: 3_600_000, MI: 60_000, SS: 1000, MS: 1})
  })

  it('units are case-insensitive and unknown units are a usage error', () => {
    expect(timeUnitMs('ss')).toBe(1000)
    expect(timeUnitMs('Mi')).toBe(60_000)
    expect(() => timeUnitMs('sec')).toThrow(UsageError)
  })
})

describe('windowSpecFromCall', () => {
  it('translates each window call into milliseconds', () => {
    expect(windowSpecFromCall('TUMBLINGWINDOW', ['ss', 10])).toEqual({kind: 'tumbling', sizeMs: 10_000})
    expect(windowSpecFromCall('hoppingwindow', ['mi', 5, 1])).toEqual({kind: 'hopping', sizeMs: 300_000, hopMs: 60_000})
    expect(windowSpecFromCall('SLIDINGWINDOW', ['ms', 500])).toEqual({kind: 'sliding', sizeMs: 500, delayMs: 0})
    expect(windowSpecFromCall('SLIDINGWINDOW', ['ss', 10, 2])).toEqual({kind: 'sliding', sizeMs: 10_000, delayMs: 2000})
    expect(windowSpecFromCall('SESSIONWINDOW', ['hh', 1, 0.5])).toEqual({kind: 'session', maxDurationMs: 3_600_000, timeoutMs: 1_800_000})
    expect(windowSpecFromCall('COUNTWINDOW', [5])).toEqual({kind: 'count', size: 5, hop: 5})
    expect(windowSpecFromCall('COUNTWINDOW', [5, 1])).toEqual({kind: 'count', size: 5, hop: 1})
    expect(windowSpecFromCall('TumblingWindow', ['DD', 1])).toEqual({kind: 'tumbling', sizeMs: 86_400_000})
  })

  it('recognises window calls by name', () => {
    expect(isWindowCall('countwindow')).toBe(true)
    expect(isWindowCall('avg')).toBe(false)
  })

  it('rejects wrong arity, units, and ranges with one clear sentence', () => {
    expect(() => windowSpecFromCall('TUMBLINGWINDOW', ['ss'])).toThrow(/TUMBLINGWINDOW takes \(unit, size\), got 1 argument$/)
    expect(() => windowSpecFromCall('TUMBLINGWINDOW', [10, 'ss'])).toThrow(/time unit/)
    expect(() => windowSpecFromCall('TUMBLINGWINDOW', ['ss', 0])).toThrow(/size must be greater than 0/)
    expect(() => windowSpecFromCall('HOPPINGWINDOW', ['ss', 10, -1])).toThrow(/hop must be greater than 0/)
    expect(() => windowSpecFromCall('SLIDINGWINDOW', ['ss', 10, -1])).toThrow(/delay must be 0 or more/)
    expect(() => windowSpecFromCall('COUNTWINDOW', [2.5])).toThrow(/whole number/)
    expect(() => windowSpecFromCall('COUNTWINDOW', [0])).toThrow(UsageError)
    expect(() => windowSpecFromCall('WINDOW', [])).toThrow(/not a window function/)
    expect(() => validateWindowSpec({kind: 'session', maxDurationMs: 0, timeoutMs: 1})).toThrow(/maxDuration/)
  })
})
