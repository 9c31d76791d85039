import {describe, expect, it} from 'vitest'
import {decodeTag, encodeTag, parseNotation, registerValue, writeProblem, resolveAddress, resolveTagList, formatNotation, WORD_ORDERS, type ResolvedTag} from '../../../src/modbus/index.js'

const tag = (over: Partial<ResolvedTag>): ResolvedTag => ({name: 't', table: 'holding', address: 0, type: 'uint16', order: 'ABCD', words: 1, scale: 1, offset: 0, writable: false, ...over})

describe('word orders', () => {
  // 0x41200000 is 10.0f; the four layouts as a device manual would print them.
  it('places the bytes of float32 10.0 as ABCD, CDAB, BADC, DCBA', () => {
    const words = Object.fromEntries(WORD_ORDERS.map((order) => [order, encodeTag(tag({type: 'float32', order, words: 2}), 10)]))
    expect(words).toEqual({ABCD: [0x4120, 0x0000], CDAB: [0x0000, 0x4120], BADC: [0x2041, 0x0000], DCBA: [0x0000, 0x2041]})
  })

  it('applies to 64-bit values over four words', () => {
    const v = 0x0102030405060708n
    const enc = (order: (typeof WORD_ORDERS)[number]) => encodeTag(tag({type: 'uint64', order, words: 4}), v)
    expect(enc('ABCD')).toEqual([0x0102, 0x0304, 0x0506, 0x0708])
    expect(enc('CDAB')).toEqual([0x0708, 0x0506, 0x0304, 0x0102])
    expect(enc('BADC')).toEqual([0x0201, 0x0403, 0x0605, 0x0807])
    expect(enc('DCBA')).toEqual([0x0807, 0x0605, 0x0403, 0x0201])
  })

  it.each(WORD_ORDERS)('round-trips every type in %s', (order) => {
    const cases: Array<[Partial<ResolvedTag>, number | string]> = [
      [{type: 'int16'}, -1234],
      [{type: 'uint16'}, 65535],
      [{type: 'int32', words: 2}, -2_000_000_000],
      [{type: 'uint32', words: 2}, 4_000_000_000],
      [{type: 'float32', words: 2}, 21.5],
      [{type: 'int64', words: 4}, -9_007_199_254_740_991],
      [{type: 'uint64', words: 4}, 9_007_199_254_740_991],
      [{type: 'float64', words: 4}, Math.PI],
      [{type: 'string', words: 4, length: 8}, 'PUMP-7'],
    ]
    for (const [over, value] of cases) {
      const t = tag({...over, order})
      expect(decodeTag(t, encodeTag(t, value)), `${over.type}`).toBe(value)
    }
  })
})

describe('scale, offset and clamping', () => {
  it('stores raw = (value - offset) / scale, rounded, and reads back the engineering value', () => {
    const t = tag({type: 'int16', scale: 0.1, offset: -40})
    expect(encodeTag(t, 21.37)).toEqual([614])
    expect(decodeTag(t, [614])).toBe(21.4)
  })

  it('clamps to the type instead of wrapping', () => {
    expect(encodeTag(tag({type: 'int16'}), 40_000)).toEqual([0x7fff])
    expect(encodeTag(tag({type: 'uint16'}), -5)).toEqual([0])
    expect(registerValue(tag({type: 'int16', scale: 0.01}), 500)).toBe(327.67)
  })

  it('decodes float32 to the shortest decimal of the same float', () => {
    expect(decodeTag(tag({type: 'float32', words: 2}), encodeTag(tag({type: 'float32', words: 2}), 0.1))).toBe(0.1)
  })

  it('reads a bit of a register', () => {
    expect(decodeTag(tag({type: 'bit', bit: 3}), [0b1000])).toBe(true)
    expect(decodeTag(tag({type: 'bit', bit: 2}), [0b1000])).toBe(false)
  })
})

describe('addresses', () => {
  it('reads 4xxxx/3xxxx notation as 1-based', () => {
    expect(parseNotation(40001)).toEqual({table: 'holding', offset: 0})
    expect(parseNotation('30010')).toEqual({table: 'input', offset: 9})
    expect(parseNotation('00001')).toEqual({table: 'coil', offset: 0})
    expect(parseNotation(465536)).toEqual({table: 'holding', offset: 65535})
    expect(parseNotation(123)).toBeUndefined()
    expect(() => parseNotation(40000)).toThrow(/counts from 1/)
    expect(formatNotation('holding', 0)).toBe('40001')
  })

  it('applies addressBase to plain numbers only', () => {
    expect(resolveAddress(100, 'holding', {addressBase: 0})).toEqual({ok: true, table: 'holding', offset: 100})
    expect(resolveAddress(100, 'holding', {addressBase: 1})).toEqual({ok: true, table: 'holding', offset: 99})
    expect(resolveAddress(40001, undefined, {addressBase: 0})).toEqual({ok: true, table: 'holding', offset: 0})
    expect(resolveAddress(0, 'holding', {addressBase: 1})).toMatchObject({ok: false})
    expect(resolveAddress(100, undefined, {addressBase: 0})).toMatchObject({ok: false, message: expect.stringContaining('needs a table')})
  })
})

describe('tag lists', () => {
  it('defaults types per table and the order per device, and reports overlaps and misfits', () => {
    const ok = resolveTagList(
      [
        {name: 'a', address: 40001, type: 'float32'},
        {name: 'b', table: 'coil', address: 3},
        {name: 'c', table: 'holding', address: 2},
        {name: 'd', table: 'holding', address: 2 + 1, type: 'bit', bit: 0},
        {name: 'e', table: 'holding', address: 3, type: 'bit', bit: 1},
      ],
      {order: 'CDAB'},
    )
    expect(ok.problems).toEqual([])
    expect(ok.tags.map((t) => [t.name, t.table, t.address, t.type, t.order])).toEqual([
      ['a', 'holding', 0, 'float32', 'CDAB'],
      ['b', 'coil', 3, 'bool', 'CDAB'],
      ['c', 'holding', 2, 'uint16', 'CDAB'],
      ['d', 'holding', 3, 'bit', 'CDAB'],
      ['e', 'holding', 3, 'bit', 'CDAB'],
    ])
    const bad = resolveTagList(
      [
        {name: 'a', address: 40001, type: 'float32'},
        {name: 'b', address: 40002},
        {name: 'c', table: 'input', address: 0, writable: true},
        {name: 'd', table: 'coil', address: 0, type: 'int16'},
      ],
      {},
    )
    expect(bad.problems.map((p) => p.message)).toEqual([
      expect.stringContaining('read-only'),
      expect.stringContaining('type must be bool'),
      expect.stringContaining('overlaps tag a'),
    ])
  })
})

describe('writeProblem: a value for a real device is written exactly or refused', () => {
  it('names the range, the fraction and, for a scaled tag, the raw value', () => {
    expect(writeProblem('int16', '70000')).toBe('70000 is outside int16 -32768..32767')
    expect(writeProblem('uint16', '-1')).toBe('-1 is outside uint16 0..65535')
    expect(writeProblem('uint16', '1.7')).toBe('1.7 is not an integer: int16/uint16 take whole numbers')
    expect(writeProblem('int32', '2.5')).toBe('2.5 is not an integer: int32 takes whole numbers')
    expect(writeProblem('int16', '7000', 0.1)).toBe('7000 is raw 70000 after --scale 0.1, which is outside int16 -32768..32767')
    expect(writeProblem('int16', '1.55', 0.1)).toBe('1.55 is raw 15.5 after --scale 0.1, which is not an integer: int16/uint16 take whole numbers')
    expect(writeProblem('uint64', '18446744073709551616')).toBe('18446744073709551616 is outside uint64 0..18446744073709551615')
    expect(writeProblem('float32', '1e39')).toContain('outside float32')
    expect(writeProblem('int16', 'abc')).toBe('abc is not a number')
    // --length counts bytes: a longer string would be cut, an accented one possibly inside a character.
    expect(writeProblem('string', 'LINE-12', 1, 0, 4)).toBe('"LINE-12" is 7 bytes (UTF-8), more than --length 4 holds')
    expect(writeProblem('string', 'Müll', 1, 0, 4)).toBe('"Müll" is 5 bytes (UTF-8), more than --length 4 holds')
    expect(writeProblem('string', 'LINE', 1, 0, 4)).toBeUndefined()
  })

  it('lets through what the type holds, binary noise of a scale included', () => {
    for (const [type, text, scale] of [['int16', '-32768', 1], ['uint16', '65535', 1], ['int16', '1.5', 0.1], ['uint64', '18446744073709551615', 1], ['float32', '12.5', 1], ['string', 'x', 1]] as const) {
      expect(writeProblem(type, text, scale), `${type} ${text}`).toBeUndefined()
    }
    // The simulator keeps clamping: encodeTag still turns 70000 into int16's 32767.
    expect(registerValue(tag({type: 'int16'}), 70000)).toBe(32767)
  })
})
