import {describe, expect, it} from 'vitest'
import {duration, size} from '../../../src/config/units-schema.js'
import {flagValue, formatDuration, parseDuration, parseRate, parseSize} from '../../../src/config/units.js'
import {parseDurationFlag} from '../../../src/cli/flag-parsers.js'

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['250us', 0.25],
    ['1.5s', 1500],
    ['42', 42],
    [' 2s ', 2000],
  ])('%s = %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms))

  it('takes numbers as milliseconds and rejects negative or non-finite ones', () => {
    expect(parseDuration(250)).toBe(250)
    expect(() => parseDuration(-1)).toThrow(/non-negative/)
    expect(() => parseDuration(Number.NaN)).toThrow()
  })

  it.each(['', 's', '5 minutes', '1x', '-5s', '1h 30q'])('rejects %j with a hint', (text) => {
    expect(() => parseDuration(text)).toThrow(/duration/)
  })
})

describe('parseRate', () => {
  it.each([
    ['1000/s', 1000],
    ['60/m', 1],
    ['3600/h', 1],
    ['2/500ms', 4],
    ['50000', 50000],
  ])('%s = %d per second', (text, perSecond) => expect(parseRate(text)).toBe(perSecond))

  it.each(['0/s', 'fast', '10/x', '-5/s'])('rejects %j', (text) => expect(() => parseRate(text)).toThrow())
})

describe('parseSize', () => {
  it.each([
    ['100B', 100],
    ['4KiB', 4096],
    ['1MiB', 1_048_576],
    ['2KB', 2000],
    ['512', 512],
  ])('%s = %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes))

  it.each(['4 parsecs', 'KiB', '-1B'])('rejects %j', (text) => expect(() => parseSize(text)).toThrow(/size/))
})

describe('formatDuration', () => {
  it.each([
    [0.25, '250µs'],
    [420, '420ms'],
    [1500, '1.5s'],
    [20_000, '20s'],
    [59_990, '1m'],
    [90_000, '1m30s'],
    [119_600, '2m'],
    [3_600_000, '1h'],
    [5_430_000, '1h30m30s'],
  ])('%d ms reads %s', (ms, text) => expect(formatDuration(ms)).toBe(text))
})

describe('zod unit types (units-schema.ts): the one duration and size type of every config file', () => {
  it('duration() takes what people write and gives milliseconds; positive refuses zero', () => {
    expect(duration().parse('1m30s')).toBe(90_000)
    expect(duration().parse(250)).toBe(250)
    expect(duration().safeParse('soon').success).toBe(false)
    expect(duration({positive: true}).safeParse('0s').error?.issues[0].message).toMatch(/greater than zero/)
  })

  it('size() gives bytes and says what is wrong with a size it cannot read', () => {
    expect(size().parse('4KiB')).toBe(4096)
    expect(size().parse(100)).toBe(100)
    const bad = size().safeParse('lots')
    expect(bad.success).toBe(false)
    expect(bad.error?.issues[0].message).toContain('lots')
  })
})

describe('duration flags need a unit', () => {
  it('refuses a bare number typed on the command line, which a file reads as milliseconds', () => {
    expect(() => parseDurationFlag('duration', '5')).toThrow('--duration 5: give a unit: 5s, 5m, 5ms')
    expect(() => parseDurationFlag('timeout', ' 1.5 ')).toThrow('--timeout 1.5: give a unit')
    expect(parseDurationFlag('duration', '5s')).toBe(5000)
    expect(parseDurationFlag('drain', '0')).toBe(0)
    // A profile's YAML number is the file's rule: milliseconds.
    expect(flagValue('duration', 5000, parseDuration)).toBe(5000)
    expect(parseDuration('5')).toBe(5)
  })
})
