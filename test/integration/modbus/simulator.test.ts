import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {decodeTag, ModbusException, planReads, decodeRead, WORD_ORDERS} from '../../../src/modbus/index.js'
import {ModbusTcpClient, ModbusTimeoutError} from '../../../src/net/modbus-client.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {startModbusSimulation, type ModbusSimulation} from '../../../src/sim/modbus/simulator.js'
import {allTypesScenario} from './all-types.js'

let sim: ModbusSimulation
const clients: ModbusTcpClient[] = []
const client = (port: number) => {
  const c = new ModbusTcpClient({host: '127.0.0.1', port, timeoutMs: 300})
  clients.push(c)
  return c
}

beforeAll(async () => {
  const scenario = loadScenario('all-types.yaml', {text: allTypesScenario({every: '1h'}), env: {}})
  sim = await startModbusSimulation({scenario})
})
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await sim?.stop()
})

describe('simulated Modbus devices over TCP (iotd client)', () => {
  it('serves every type in every word order as the generator made it', async () => {
    expect(sim.listeners).toHaveLength(8)
    const scenario = loadScenario('x.yaml', {text: allTypesScenario({every: '1h'}), env: {}})
    for (const order of WORD_ORDERS) {
      const group = scenario.modbus.find((g) => g.name === order.toLowerCase())
      const listener = sim.listeners.find((l) => l.group === order.toLowerCase() && l.units.includes(2)) as {port: number}
      const c = client(listener.port)
      for (const device of sim.devices.filter((d) => d.spec.group === order.toLowerCase() && d.spec.port === listener.port)) {
        const reads = planReads(group?.tags ?? [])
        const got: Record<string, unknown> = {}
        for (const r of reads) decodeRead(r, await c.read(device.spec.unitId, r.table, r.address, r.count), got as never)
        expect(got, `${order} unit ${device.spec.unitId}`).toEqual(device.values)
        // Every tag within the register's resolution of what the generator produced: half a scale step for scaled
        // integers, float32 precision for float32, exact for the rest.
        for (const tag of group?.tags ?? []) {
          const want = device.generated[tag.name]
          const have = got[tag.name]
          if (tag.type === 'float32') expect(Math.fround(have as number), `${order} ${tag.name}`).toBe(Math.fround(want as number))
          else if (tag.scale !== 1) expect(Math.abs((have as number) - (want as number)), `${order} ${tag.name}`).toBeLessThanOrEqual(tag.scale / 2 + 1e-9)
          else expect(have, `${order} ${tag.name}`).toEqual(want)
        }
      }
    }
  })

  it('a write to a setpoint changes the driven tag at the next update', async () => {
    const d = sim.devices.find((x) => x.spec.group === 'cdab') as (typeof sim.devices)[number]
    const c = client(d.spec.port)
    const tag = {type: 'float32', order: 'CDAB', scale: 1, offset: 0} as const
    const {encodeTag} = await import('../../../src/modbus/index.js')
    await c.writeRegisters(d.spec.unitId, 40, encodeTag(tag, 12.5))
    expect(decodeTag(tag, await c.readRegisters(d.spec.unitId, 'holding', 40, 2))).toBe(12.5)
    d.step(Date.now())
    expect(decodeTag(tag, await c.readRegisters(d.spec.unitId, 'input', 0, 2))).toBe(25)
    await c.writeCoils(d.spec.unitId, 1, [true])
    expect(await c.readBits(d.spec.unitId, 'coil', 0, 2)).toEqual([d.values.running, true])
  })

  it('answers exception 2 for unmapped and read-only addresses, 3 for bad quantities, 0x0B for unknown units', async () => {
    const d = sim.devices[0]
    const c = client(d.spec.port)
    const code = (p: Promise<unknown>) => p.then(() => 0, (e: unknown) => (e instanceof ModbusException ? e.code : String(e)))
    expect(await code(c.readRegisters(d.spec.unitId, 'holding', 24, 10))).toBe(2)
    expect(await code(c.readRegisters(d.spec.unitId, 'holding', 0, 126))).toBe(3)
    expect(await code(c.writeRegisters(d.spec.unitId, 0, [1]))).toBe(2)
    expect(await code(c.writeCoils(d.spec.unitId, 0, [true]))).toBe(2)
    expect(await code(c.readBits(d.spec.unitId, 'discrete', 0, 1))).toBe(2)
    expect(await code(c.readRegisters(99, 'holding', 0, 1))).toBe(11)
  })
})

describe('faults', () => {
  it('no-response, exception and latency as scheduled, with labels', async () => {
    const text = `version: 1
seed: 3
modbus:
  - name: faulty
    port: 0
    units: 1
    every: 100ms
    tags: [{name: t, address: 40001, value: 5}]
    faults:
      - {kind: exception, code: 4, share: 100%, schedule: {at: 0s}, duration: 300ms}
      - {kind: latency, latency: 250ms, share: 100%, schedule: {at: 500ms}, duration: 400ms}
      - {kind: no-response, share: 100%, schedule: {at: 1100ms}, duration: 400ms}
`
    const labels: Array<{kind: string}> = []
    // An injected clock decides which fault is active; the latency and the no-response timeout stay real.
    let now = Date.now()
    const s = await startModbusSimulation({scenario: loadScenario('f.yaml', {text, env: {}}), onLabel: (l) => labels.push(l), now: () => now})
    const start = now
    /** Moves the clock to `offset` ms after the start and waits until the device has stepped through it (every 100ms). */
    const at = async (offset: number) => {
      now = start + offset
      await expect.poll(() => s.counters()[0].updates, {timeout: 10_000}).toBeGreaterThan(Math.floor(offset / 100))
    }
    try {
      const c = client(s.listeners[0].port)
      const outcome = async () => {
        const t0 = Date.now()
        try {
          await c.readRegisters(1, 'holding', 0, 1)
          return Date.now() - t0 > 200 ? 'slow' : 'ok'
        } catch (e) {
          return e instanceof ModbusException ? `exception ${e.code}` : e instanceof ModbusTimeoutError ? 'timeout' : String(e)
        }
      }
      expect(await outcome()).toBe('exception 4')
      await at(650)
      expect(await outcome()).toBe('slow')
      await at(1150)
      expect(await outcome()).toBe('timeout')
      await at(1650)
      expect(await outcome()).toBe('ok')
      expect(labels.map((l) => l.kind)).toEqual(['modbus-exception', 'modbus-latency', 'modbus-no-response'])
      // unknownUnit defaults to ignore: a unit id the listener does not have gets no answer at all, as a lone device.
      await expect(c.readRegisters(9, 'holding', 0, 1)).rejects.toBeInstanceOf(ModbusTimeoutError)
      expect(s.counters()[0].unanswered).toBeGreaterThanOrEqual(2)
    } finally {
      await s.stop()
    }
  })
})
