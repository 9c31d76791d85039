import {describe, expect, it} from 'vitest'
import {encodeTag, ModbusException} from '../../../src/modbus/index.js'
import {SimulatedModbusDevice} from '../../../src/sim/modbus/device.js'
import {expandModbusDevices} from '../../../src/sim/scenario/modbus-expand.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'

function device(tags: string, extra = '') {
  const s = loadScenario('d.yaml', {text: `version: 1\nseed: 9\nmodbus:\n  - name: d\n    port: 0\n    tags:\n${tags}${extra}`, env: {}})
  return new SimulatedModbusDevice(s.modbus[0], expandModbusDevices(s)[0], s.seed)
}

const code = (fn: () => unknown) => {
  try {
    fn()
    return 0
  } catch (e) {
    return e instanceof ModbusException ? e.code : -1
  }
}

describe('a simulated Modbus device', () => {
  it('packs bit tags into one register and keeps the other bits when one changes', () => {
    const d = device('      - {name: a, table: holding, address: 0, type: bit, bit: 0, value: true}\n      - {name: b, table: holding, address: 0, type: bit, bit: 15, value: true}\n      - {name: c, table: holding, address: 0, type: bit, bit: 3, value: false}\n')
    d.step(0)
    expect(d.readRegisters('holding', 0, 1)).toEqual([0x8001])
  })

  it('a setpoint takes what its registers say after a write, and derived tags follow at the next update', () => {
    const d = device('      - {name: sp, table: holding, address: 0, type: float32, writable: true, value: 10}\n      - {name: out, table: input, address: 0, type: int16, value: {kind: derived, expr: "sp * 2"}}\n')
    d.step(0)
    expect(d.values).toEqual({sp: 10, out: 20})
    const words = encodeTag({type: 'float32', order: 'ABCD', scale: 1, offset: 0}, 33.3)
    d.writeRegisters(0, [words[0]])
    // Half a float written: the value is what the two registers now hold together.
    expect(d.values.sp).toBe(33.25)
    d.writeRegisters(0, words)
    expect(d.values.sp).toBe(33.3)
    expect(d.values.out).toBe(20)
    d.step(1000)
    expect(d.values).toEqual({sp: 33.3, out: 67})
    // The generator does not take the setpoint back.
    d.step(2000)
    expect(d.values.sp).toBe(33.3)
  })

  it('refuses a write that touches a read-only or unmapped register, changing nothing', () => {
    const d = device('      - {name: sp, table: holding, address: 0, writable: true, value: 1}\n      - {name: ro, table: holding, address: 1, value: 2}\n      - {name: coil, table: coil, address: 0, value: false}\n')
    d.step(0)
    expect(code(() => d.writeRegisters(0, [7, 8]))).toBe(2)
    expect(d.readRegisters('holding', 0, 2)).toEqual([1, 2])
    expect(code(() => d.writeRegisters(5, [1]))).toBe(2)
    expect(code(() => d.writeCoils(0, [true]))).toBe(2)
    expect(code(() => d.readRegisters('holding', 0, 3))).toBe(2)
    expect(code(() => d.readBits('discrete', 0, 1))).toBe(2)
  })

  it('times faults like anomalies and labels them', async () => {
    const d = device('      - {name: t, address: 40001, value: 1}\n', '    faults:\n      - {kind: exception, code: 6, share: 100%, schedule: {at: 2s}, duration: 1s}\n      - {kind: flap, period: 500ms, share: 100%, schedule: {at: 10s}, duration: 2s}\n')
    const read = Buffer.from([3, 0, 0, 0, 1])
    expect(d.step(0)).toEqual([])
    expect(d.answer(read, 1000)).toEqual(Buffer.from([3, 2, 0, 1]))
    const labels = d.step(2000)
    expect(labels).toEqual([{ts: 2000, deviceId: 'd-0000', field: '*', kind: 'modbus-exception', start: 2000, end: 3000}])
    expect(d.answer(read, 2500)).toEqual(Buffer.from([0x83, 6]))
    d.step(3000)
    expect(d.answer(read, 3001)).toEqual(Buffer.from([3, 2, 0, 1]))
    for (let t = 4000; t <= 10_000; t += 1000) d.step(t)
    expect(d.answer(read, 10_100)).toBeNull()
    expect(d.answer(read, 10_600)).toEqual(Buffer.from([3, 2, 0, 1]))
    expect(d.answer(read, 11_100)).toBeNull()
  })
})
