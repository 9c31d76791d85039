import {describe, expect, it} from 'vitest'
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

  it('builds topics from columns and refuses cells that would break the topic', () => {
    const names = ['time', 'device', 'temp']
    const t = topicTemplate('plant/{device}/env', (n) => names.indexOf(n))
    expect(t(['x', 'd1', '20'])).toBe('plant/d1/env')
    expect(t(['x', '', '20'])).toBeUndefined()
    expect(t(['x', 'a/b', '20'])).toBeUndefined()
    expect(t(['x', '#', '20'])).toBeUndefined()
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
})
