import {describe, expect, it} from 'vitest'
import {createEncoder, csvCell, type FieldValue} from '../../../src/sim/generators/index.js'

const fields = new Map<string, FieldValue>([
  ['ts', 1700000000000],
  ['name', 'press, "big"'],
  ['ok', true],
  ['pos', {lat: 52.5, lon: 13.4, heading: 90, speed: 30}],
])
const order = [...fields.keys()]

describe('payload encoders', () => {
  it('json keeps declaration order, or the listed subset order', () => {
    expect(createEncoder({format: 'json'}, order)(fields)).toBe('{"ts":1700000000000,"name":"press, \\"big\\"","ok":true,"pos":{"lat":52.5,"lon":13.4,"heading":90,"speed":30}}')
    expect(createEncoder({format: 'json', fields: ['ok', 'ts']}, order)(fields)).toBe('{"ok":true,"ts":1700000000000}')
  })

  it('json writes the bytes JSON.stringify writes, for any values and names', () => {
    const odd = new Map<string, FieldValue>([
      ['nan', Number.NaN],
      ['inf', Number.NEGATIVE_INFINITY],
      ['neg0', -0],
      ['tiny', 1e-7],
      ['big', 1.5e300],
      ['quote "me"', 'tab\tline\nend \u2028'],
      ['off', false],
      ['missing', undefined as unknown as FieldValue],
    ])
    const byObject = (names: string[]) => JSON.stringify(Object.fromEntries(names.map((n) => [n, odd.get(n)])))
    const names = [...odd.keys()]
    expect(createEncoder({format: 'json'}, names)(odd)).toBe(byObject(names))
    // Integer-like names come first in an object, and a repeated name keeps its first place.
    odd.set('10', 3).set('2', 4)
    const reordered = ['tiny', '10', 'off', '2', 'tiny']
    expect(createEncoder({format: 'json', fields: reordered}, names)(odd)).toBe('{"2":4,"10":3,"tiny":1e-7,"off":false}')
    expect(createEncoder({format: 'json', fields: ['off', 'tiny', 'off']}, names)(odd)).toBe('{"off":false,"tiny":1e-7}')
    expect(createEncoder({format: 'json', fields: ['missing']}, names)(odd)).toBe('{}')
  })

  it('csv quotes per RFC 4180 and flattens object fields', () => {
    expect(createEncoder({format: 'csv'}, order)(fields)).toBe('1700000000000,"press, ""big""",true,52.5,13.4,90,30')
    expect(createEncoder({format: 'csv', delimiter: ';', fields: ['ok', 'name']}, order)(fields)).toBe('true;press, "big"'.replace('press, "big"', '"press, ""big"""'))
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"')
    expect(csvCell('plain')).toBe('plain')
  })

  it('raw renders a template with field paths and keeps JSON braces literal', () => {
    expect(createEncoder({format: 'raw', template: '{ts};{pos.lat};{ok}'}, order)(fields)).toBe('1700000000000;52.5;true')
    expect(createEncoder({format: 'raw', template: '{"t":{ts}}'}, order)(fields)).toBe('{"t":1700000000000}')
  })
})
