import {describe, expect, it} from 'vitest'
import {modbusSource} from '../../../src/pipeline/sources/modbus.js'
import type {DeadLetterEntry, PipelineRecord} from '../../../src/pipeline/types.js'
import {startModbusSimulation} from '../../../src/sim/modbus/simulator.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {loadSlowdown} from '../../helpers/load-bound.js'

const plant = `version: 1
seed: 5
modbus:
  - name: meter
    port: 0
    units: 3
    every: 100ms
    order: CDAB
    tags:
      - {name: voltage, address: 30001, type: float32, value: {kind: gaussian, mean: 230, stddev: 1, resolution: 0.1}}
      - {name: temp, address: 30003, type: int16, scale: 0.1, value: {kind: walk, mean: 30, sigma: 0.1, theta: 0.1, resolution: 0.1}}
      - {name: setpoint, address: 40001, type: uint16, writable: true, value: 7}
    faults:
      - {kind: no-response, share: 100%, schedule: {at: 1s}, duration: 2s}
`

describe('modbus source (iotd as the gateway) polling simulated devices', () => {
  it('yields decoded values per device and poll, an offline record when a device stops answering, and online when it is back', async () => {
    const scenario = loadScenario('plant.yaml', {text: plant, env: {}})
    const sim = await startModbusSimulation({scenario})
    const port = sim.listeners[0].port
    const opts = modbusSource.options.parse({
      poll: '200ms',
      timeout: '300ms',
      retries: 0,
      offlineAfter: 2,
      order: 'CDAB',
      tags: [
        {name: 'voltage', address: 30001, type: 'float32'},
        {name: 'temp', address: 30003, type: 'int16', scale: 0.1},
        {name: 'setpoint', address: 40001},
      ],
      devices: [{host: '127.0.0.1', port, units: '1-2', name: 'meter-{unit}'}, {host: '127.0.0.1', port, units: [3], name: 'meter-{unit}', poll: '400ms'}],
    })
    const source = modbusSource.create(opts, 'plant', {baseDir: '.', env: {}}) as ReturnType<typeof modbusSource.create> & {stats(): {missed: number; polls: number}}
    const abort = new AbortController()
    const dead: DeadLetterEntry[] = []
    const records: PipelineRecord[] = []
    const started = Date.now()
    setTimeout(() => abort.abort(), 5000)
    try {
      for await (const d of source.read({signal: abort.signal, deadLetter: (e) => dead.push(e), warn: () => {}})) {
        records.push(d.record)
        const f = d.record.fields as Record<string, unknown>
        if (f.status === 'ok') {
          const device = sim.devices.find((x) => x.spec.unitId === f.unit)
          // Values of the update the device was at when it answered (it updates every 100ms; the poll sees one of two).
          expect(typeof f.voltage).toBe('number')
          expect(Math.abs((f.voltage as number) - 230)).toBeLessThan(10)
          expect(f.setpoint).toBe(device?.values.setpoint)
        }
      }
    } finally {
      await source.close()
      await sim.stop()
    }
    const elapsed = (Date.now() - started) / 1000
    const ok = (unit: number) => records.filter((r) => (r.fields as {unit: number; status: string}).unit === unit && (r.fields as {status: string}).status === 'ok').length
    // 5 s at 5 polls/s, minus the 2 s the device was silent: about 15 answered polls for units 1-2, half as many for
    // unit 3 (polled every 400ms). A loaded machine may skip a few (counted as missed), so the floors are loose.
    // On a machine busier than its cores, fewer polls fit into the same wall time: the floors shrink with the load.
    const slowdown = loadSlowdown()
    expect(ok(1)).toBeGreaterThanOrEqual(Math.floor(((elapsed - 2) * 5 * 0.6) / slowdown))
    expect(ok(1)).toBeLessThanOrEqual(Math.ceil((elapsed - 2) * 5) + 2)
    expect(ok(3)).toBeLessThan(ok(1))
    expect(ok(3)).toBeGreaterThanOrEqual(Math.floor(((elapsed - 2) * 2.5 * 0.6) / slowdown))
    for (const unit of [1, 2, 3]) {
      const statuses = records.filter((r) => (r.fields as {unit: number}).unit === unit).map((r) => (r.fields as {status: string}).status)
      const transitions = statuses.filter((s, i) => s !== 'ok' || statuses[i - 1] === undefined)
      expect(transitions.filter((s) => s !== 'ok'), `unit ${unit}`).toEqual(['offline', 'online'])
      expect(statuses.indexOf('online')).toBeGreaterThan(statuses.indexOf('offline'))
    }
    const offline = records.find((r) => (r.fields as {status: string}).status === 'offline')
    expect(offline?.key).toMatch(/^meter-\d$/)
    expect((offline?.fields as {error: string}).error).toMatch(/did not answer/)
    // Polls that time out (300ms) during the outage outlast the 200ms interval: the next one is skipped, not queued.
    expect(source.stats().missed).toBeLessThan(source.stats().polls / 4)
    expect(dead).toEqual([])
  })

  it('sends a read that the device refuses to the dead letter and keeps the other tags', async () => {
    const scenario = loadScenario('plant.yaml', {text: plant.replace(/ {4}faults:[\s\S]*$/, ''), env: {}})
    const sim = await startModbusSimulation({scenario})
    const opts = modbusSource.options.parse({
      poll: '100ms',
      tags: [{name: 'voltage', address: 30001, type: 'float32'}, {name: 'missing', address: 30050}],
      devices: [{port: sim.listeners[0].port, units: 1}],
    })
    const source = modbusSource.create(opts, 'plant', {baseDir: '.', env: {}})
    const abort = new AbortController()
    const dead: DeadLetterEntry[] = []
    let first: PipelineRecord | undefined
    try {
      for await (const d of source.read({signal: abort.signal, deadLetter: (e) => dead.push(e), warn: () => {}})) {
        first = d.record
        abort.abort()
      }
    } finally {
      await source.close()
      await sim.stop()
    }
    expect(first?.fields).toMatchObject({status: 'ok', device: `127.0.0.1:${sim.listeners[0].port}/1`})
    expect(Object.keys(first?.fields as object)).not.toContain('missing')
    expect(dead[0].reason).toMatch(/input 49 \(1\) for missing answered Modbus exception 2/)
  })

  it('reports every problem of a tag map with its path', () => {
    const r = modbusSource.options.safeParse({devices: [{port: 502, tags: [{name: 'a', address: 40001, type: 'float32'}, {name: 'b', address: 40002}]}]})
    expect(r.success).toBe(false)
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['devices.0.tags.1.address', expect.stringContaining('overlaps tag a')]])
  })
})
