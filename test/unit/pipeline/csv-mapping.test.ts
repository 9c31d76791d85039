import {describe, expect, it} from 'vitest'
import {plainDecimal} from '../../../src/capture/format.js'
import {cellValue, detectDelimiter, templateColumns, timeParser, topicTemplate} from '../../../src/pipeline/sources/csv-mapping.js'

describe('csv mapping', () => {
  it('parses each time format to epoch ms (UTC for zoneless times)', () => {
    expect(timeParser('iso')('2026-01-01T00:00:01Z')).toBe(Date.UTC(2026, 0, 1, 0, 0, 1))
    expect(timeParser('iso')('2026-01-01 00:00:01')).toBe(Date.UTC(2026, 0, 1, 0, 0, 1))
    expect(timeParser('iso')('2026-01-01T02:00:00+02:00')).toBe(Date.UTC(2026, 0, 1))
    expect(timeParser('epoch-s')('1767225600.5')).toBe(1767225600500)
    expect(timeParser('epoch-ms')('1767225600123')).toBe(1767225600123)
    expect(timeParser('epoch-us')('1767225600123456')).toBeCloseTo(1767225600123.456, 3)
    expect(timeParser('YYYY-MM-DD HH:mm:ss')('2026-03-04 05:06:07')).toBe(Date.UTC(2026, 2, 4, 5, 6, 7))
    expect(timeParser('DD/MM/YYYY HH:mm:ss.SSS')('04/03/2026 05:06:07.250')).toBe(Date.UTC(2026, 2, 4, 5, 6, 7, 250))
  })

  it('gives NaN for cells that do not match, and rejects patterns without a date', () => {
    expect(timeParser('iso')('yesterday')).toBeNaN()
    expect(timeParser('epoch-ms')('12a')).toBeNaN()
    expect(timeParser('YYYY-MM-DD HH:mm:ss')('2026-13-01 00:00:00')).toBeNaN()
    expect(() => timeParser('HH:mm')).toThrow(/YYYY, MM and DD/)
  })

  it('builds topics from columns (a cell may hold whole levels) and refuses cells that would break the topic', () => {
    const names = ['time', 'device', 'temp']
    const t = topicTemplate('plant/{device}/env', (n) => names.indexOf(n))
    expect(t(['x', 'd1', '20'])).toBe('plant/d1/env')
    expect(t(['x', '', '20'])).toBeUndefined()
    // A recorded topic in one cell: '{topic}' must be able to replay it.
    expect(t(['x', 'a/b', '20'])).toBe('plant/a/b/env')
    expect(topicTemplate('{topic}', (n) => ['ts', 'topic'].indexOf(n))(['1', 'plant/press-01/telemetry'])).toBe('plant/press-01/telemetry')
    expect(t(['x', '#', '20'])).toBeUndefined()
    expect(t(['x', 'a/+', '20'])).toBeUndefined()
    expect(() => topicTemplate('plant/{nope}', (n) => names.indexOf(n))).toThrow(/nope/)
    expect(templateColumns('a/{x}/{ y }')).toEqual(['x', 'y'])
  })

  it('detects the delimiter outside quotes', () => {
    expect(detectDelimiter('time;device;temp')).toBe(';')
    expect(detectDelimiter('time\tdevice\ttemp')).toBe('\t')
    expect(detectDelimiter('"a;b;c",d,e')).toBe(',')
    expect(detectDelimiter('single')).toBe(',')
  })

  it('casts cells to JSON values', () => {
    expect([cellValue('21.5'), cellValue('-3'), cellValue('1e3'), cellValue('true'), cellValue(''), cellValue('abc'), cellValue('12abc')]).toEqual([21.5, -3, 1000, true, null, 'abc', '12abc'])
  })

  it('plainDecimal reads plain decimals as Number() does and leaves everything else to the general path', () => {
    let seed = 1
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648)
    for (let n = 0; n < 20_000; n++) {
      const int = String(Math.floor(rand() * 10 ** Math.floor(rand() * 14)))
      const frac = rand() < 0.6 ? `.${String(Math.floor(rand() * 10 ** (1 + Math.floor(rand() * 6)))).padStart(1 + Math.floor(rand() * 3), '0')}` : ''
      const text = `${rand() < 0.2 ? '-' : ''}${int}${frac}`
      const got = plainDecimal(text)
      if (got !== undefined) expect(Object.is(got, Number(text)), text).toBe(true)
      expect(Object.is(got ?? cellValue(text), cellValue(text)), text).toBe(true)
    }
    expect(plainDecimal('21.34')).toBe(21.34)
    expect(Object.is(plainDecimal('-0'), -0)).toBe(true)
    for (const other of ['', '-', '1.', '.5', '1e3', ' 1', '1 ', '0x10', '1.2.3', '12345678901234567', 'abc']) expect(plainDecimal(other), other).toBeUndefined()
    // Past 15 digits the general path reads it (epoch µs with a fraction, for one).
    expect(timeParser('epoch-us')('1767225600123456.5')).toBe(1767225600123456.5 / 1000)
    expect(timeParser('epoch-ms')(' 1767225600123 ')).toBe(1767225600123)
    expect(timeParser('epoch-ms')('1767225600123x')).toBeNaN()
  })
})
