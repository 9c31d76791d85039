import {describe, expect, it} from 'vitest'
import {ConfigError} from '../../../src/errors.js'
import {expandModbusDevices} from '../../../src/sim/scenario/modbus-expand.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'

const problems = (text: string): string[] => {
  try {
    loadScenario('plant.yaml', {text, env: {}})
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n')
    throw error
  }
  return []
}

const group = (body: string) => `version: 1
modbus:
  - name: meter
    port: 5020
${body}`

describe('the modbus: section of a scenario', () => {
  it('expands listeners × unit ids into devices with ids, ports and seeded phases', () => {
    const s = loadScenario('p.yaml', {text: group('    listeners: 2\n    units: [1, 7]\n    id: "m-{port}-{unit}"\n    tags: [{name: t, address: 40001}]\n'), env: {}})
    const devices = expandModbusDevices(s)
    expect(devices.map((d) => [d.deviceId, d.port, d.unitId, d.index])).toEqual([
      ['m-5020-1', 5020, 1, 0],
      ['m-5020-7', 5020, 7, 1],
      ['m-5021-1', 5021, 1, 2],
      ['m-5021-7', 5021, 7, 3],
    ])
    expect(devices.every((d) => d.phaseMs >= 0 && d.phaseMs < 1000)).toBe(true)
    expect(s.fleets).toEqual([])
  })

  it('reports tag problems at their line and column', () => {
    const text = group(`    tags:
      - {name: a, address: 40001, type: float32}
      - {name: b, address: 40002}
      - {name: c, table: input, address: 0, writable: true}
      - {name: d, address: 100}
`)
    expect(problems(text)).toEqual([
      expect.stringMatching(/^plant\.yaml:7:\d+: .*overlaps tag a/),
      expect.stringMatching(/^plant\.yaml:8:\d+: .*read-only in Modbus/),
      expect.stringMatching(/^plant\.yaml:9:\d+: .*needs a table/),
    ])
  })

  it('checks expressions between tags, anomalies, unit ids, ports and ids', () => {
    expect(problems(group('    tags:\n      - {name: flow, address: 30001, value: {kind: derived, expr: "valve * 2"}}\n'))[0]).toMatch(/:6:68: .*unknown field "valve"/)
    expect(problems(group('    tags: [{name: t, address: 30001}]\n    anomalies: [{field: x, kind: spike, share: 10%, probability: 0.1, magnitude: 1}]\n'))[0]).toMatch(/anomaly on unknown tag "x"/)
    expect(problems(group('    units: [1, 1]\n    tags: [{name: t, address: 30001}]\n'))[0]).toMatch(/unit id 1 appears twice/)
    expect(problems(group('    units: [0]\n    tags: [{name: t, address: 30001}]\n'))[0]).toMatch(/unit ids are 1\.\.255/)
    const clash = `${group('    listeners: 3\n    tags: [{name: t, address: 30001}]\n')}  - name: other\n    port: 5022\n    tags: [{name: t, address: 30001}]\n`
    expect(problems(clash)[0]).toMatch(/:8:11: .*ports 5022-5022 overlap those of modbus\[0\] \(5020-5022\)/)
    expect(problems(group('    units: 2\n    id: "meter"\n    tags: [{name: t, address: 30001}]\n'))[0]).toMatch(/device id "meter" is produced twice/)
    expect(problems(group('    tags: [{name: t, address: 30001}]\n    faults: [{kind: latency, share: 10%}]\n'))[0]).toMatch(/needs exactly one of probability or schedule/)
    // More devices than the group has (2 listeners × 2 units) selected all of them and said nothing.
    expect(problems(group('    listeners: 2\n    units: 2\n    tags: [{name: t, address: 30001}]\n    anomalies: [{field: t, kind: stuck, devices: 5, probability: 0.1}]\n    faults: [{kind: latency, devices: 9, probability: 0.1}]\n'))).toEqual([
      expect.stringMatching(/^plant\.yaml:8:\d+: .*devices: 5 is more than modbus group meter's 4 devices$/),
      expect.stringMatching(/^plant\.yaml:9:\d+: .*devices: 9 is more than modbus group meter's 4 devices$/),
    ])
  })

  it('still needs fleets or a modbus section', () => {
    expect(problems('version: 1\n')[0]).toMatch(/missing required key "fleets"/)
  })
})
