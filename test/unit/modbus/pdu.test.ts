import {describe, expect, it} from 'vitest'
import {decodeRequest, decodeResponse, encodeFrame, encodeRequest, FrameReader, handleRequest, ModbusException, type ModbusRequest, type RegisterBank} from '../../../src/modbus/index.js'

function bank(): RegisterBank & {hr: Map<number, number>; coils: Map<number, boolean>} {
  const hr = new Map([[0, 7], [1, 8]])
  const coils = new Map([[0, true], [1, false]])
  const need = (ok: boolean) => {
    if (!ok) throw new ModbusException(2)
  }
  return {
    hr,
    coils,
    readBits: (_t, a, n) => Array.from({length: n}, (_, i) => (need(coils.has(a + i)), coils.get(a + i) ?? false)),
    readRegisters: (_t, a, n) => Array.from({length: n}, (_, i) => (need(hr.has(a + i)), hr.get(a + i) ?? 0)),
    writeCoils: (a, v) => {
      v.forEach((_, i) => need(coils.has(a + i)))
      v.forEach((x, i) => coils.set(a + i, x))
    },
    writeRegisters: (a, v) => {
      v.forEach((_, i) => need(hr.has(a + i)))
      v.forEach((x, i) => hr.set(a + i, x))
    },
  }
}

const ask = (b: RegisterBank, req: ModbusRequest) => decodeResponse(req, handleRequest(encodeRequest(req), b))

describe('PDUs', () => {
  it('round-trips every supported request', () => {
    const reqs: ModbusRequest[] = [
      {fc: 1, address: 3, count: 10},
      {fc: 4, address: 100, count: 125},
      {fc: 5, address: 1, value: true},
      {fc: 6, address: 2, value: 0xbeef},
      {fc: 15, address: 0, values: [true, false, true, true, false, false, false, false, true]},
      {fc: 16, address: 9, values: [1, 2, 3]},
    ]
    for (const r of reqs) expect(decodeRequest(encodeRequest(r))).toEqual(r)
  })

  it('answers reads and writes from a bank', () => {
    const b = bank()
    expect(ask(b, {fc: 3, address: 0, count: 2})).toEqual([7, 8])
    expect(ask(b, {fc: 1, address: 0, count: 2})).toEqual([true, false])
    ask(b, {fc: 16, address: 0, values: [1, 2]})
    ask(b, {fc: 5, address: 1, value: true})
    expect([b.hr.get(0), b.hr.get(1), b.coils.get(1)]).toEqual([1, 2, true])
    ask(b, {fc: 15, address: 0, values: [false, false]})
    ask(b, {fc: 6, address: 1, value: 0xffff})
    expect([b.coils.get(0), b.coils.get(1), b.hr.get(1)]).toEqual([false, false, 0xffff])
    expect(ask(b, {fc: 2, address: 0, count: 2})).toEqual([false, false])
    expect(ask(b, {fc: 4, address: 0, count: 1})).toEqual([1])
  })

  it('answers the right exception codes', () => {
    const b = bank()
    const code = (pdu: Buffer) => {
      const res = handleRequest(pdu, b)
      return res[0] & 0x80 ? res[1] : 0
    }
    expect(code(encodeRequest({fc: 3, address: 0, count: 3}))).toBe(2)
    expect(code(encodeRequest({fc: 3, address: 0, count: 126}))).toBe(3)
    expect(code(encodeRequest({fc: 1, address: 0, count: 2001}))).toBe(3)
    expect(code(Buffer.from([0x2b, 0x0e, 0x01, 0x00]))).toBe(1)
    expect(code(Buffer.from([0x05, 0, 0, 0x12, 0x34]))).toBe(3)
    expect(code(encodeRequest({fc: 16, address: 1, values: [5, 6]}))).toBe(2)
    // A refused multi-register write changes nothing.
    expect(b.hr.get(1)).toBe(8)
    expect(() => decodeResponse({fc: 3, address: 0, count: 1}, Buffer.from([0x83, 0x02]))).toThrow(/exception 2 \(illegal data address\)/)
  })

  it('splits a byte stream into MBAP frames however it is chunked', () => {
    const a = encodeFrame(1, 17, encodeRequest({fc: 3, address: 0, count: 2}))
    const b = encodeFrame(2, 18, encodeRequest({fc: 6, address: 4, value: 9}))
    const all = Buffer.concat([a, b])
    for (let cut = 0; cut <= all.length; cut++) {
      const r = new FrameReader()
      const frames = [...r.push(all.subarray(0, cut)), ...r.push(all.subarray(cut))]
      expect(frames.map((f) => [f.transactionId, f.unitId, f.pdu[0]])).toEqual([[1, 17, 3], [2, 18, 6]])
    }
    expect(() => new FrameReader().push(Buffer.from([0, 1, 0, 9, 0, 2, 1, 3]))).toThrow(/protocol id/)
  })
})
