/**
 * Issue #14, acceptance 5: `devices:` picks exactly that many devices for any seed; overlapping anomalies label only
 * what is visible (docs/scenario-reference.md, Anomalies, states the precedence).
 */
import {describe, expect, it} from 'vitest'
import {anomalySelections} from '../../../src/sim/dry-run.js'
import {createDeviceModel, dueOffsetMs, selectsDevice} from '../../../src/sim/generators/index.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'
import type {AnomalyLabel} from '../../../src/sim/types.js'
import {pressFleetYaml} from '../../helpers/press-fleet.js'

const T0 = Date.UTC(2026, 0, 5)

const fleet = (seed: number, count: number, anomalies: string, fields = 'temperature: {kind: walk, mean: 65, theta: 0.05, sigma: 0.4, resolution: 0.1}') =>
  loadScenario('inline.yaml', {
    text: pressFleetYaml(
      seed,
      count,
      `    fields:
      ${fields}
    anomalies:
${anomalies}
`,
    ),
  })

/** Runs every device of the scenario for n messages: the labels, and the payloads per device. */
function run(seed: number, count: number, anomalies: string, n: number, fields?: string) {
  const s = fleet(seed, count, anomalies, fields)
  const labels: AnomalyLabel[] = []
  const payloads = new Map<string, Array<string | null>>()
  for (const d of expandDevices(s)) {
    const model = createDeviceModel(s, d)
    const out: Array<string | null> = []
    for (let i = 0; i < n; i++) {
      const sample = model.sample(i, T0 + dueOffsetMs(d, i, seed))
      labels.push(...sample.labels)
      out.push(sample.payload)
    }
    payloads.set(d.deviceId, out)
  }
  return {scenario: s, labels, payloads}
}

describe('anomalies by count', () => {
  it('devices: 3 gives exactly three devices the anomaly, whatever the seed', () => {
    for (let seed = 0; seed < 40; seed++) {
      const {scenario, labels} = run(seed, 100, '      - {field: temperature, kind: spike, devices: 3, probability: 0.5, magnitude: 10}', 12)
      expect(new Set(labels.map((l) => l.deviceId)).size, `seed ${seed}`).toBe(3)
      expect(anomalySelections(scenario)).toEqual([{group: 'press', list: 'anomalies', index: 0, name: 'anomaly-1', kind: 'spike', field: 'temperature', devices: 3, of: 100}])
    }
  })

  it('devices: 10% is exactly a tenth of the fleet (rounded); share: 10% varies with the seed', () => {
    const exact = new Set<number>()
    const byChance = new Set<number>()
    for (let seed = 0; seed < 30; seed++) {
      const a = run(seed, 25, '      - {field: temperature, kind: spike, devices: 10%, probability: 0.6, magnitude: 10}', 10)
      exact.add(new Set(a.labels.map((l) => l.deviceId)).size)
      const [selection] = anomalySelections(fleet(seed, 25, '      - {field: temperature, kind: spike, share: 10%, probability: 0.6, magnitude: 10}'))
      byChance.add(selection.devices)
    }
    expect([...exact]).toEqual([3])
    expect(byChance.size).toBeGreaterThan(1)
  })

  it('with --shard, the counts are of the shard: its devices the anomaly selects, of its devices in the fleet', () => {
    // A dry run of shard 2/3 said "3 of 30 devices" beside "fleet press: 10 devices".
    const s = loadScenario('inline.yaml', {
      text: `version: 1
seed: 8
fleets:
  - name: a
    count: 7
    topic: "a/{deviceId}"
    every: 1s
    fields: {t: 1}
  - name: press
    count: 30
    topic: "plant/{deviceId}"
    every: 1s
    fields: {temperature: {kind: walk, mean: 65, theta: 0.05, sigma: 0.4, resolution: 0.1}}
    anomalies:
      - {field: temperature, kind: spike, devices: 9, probability: 0.5, magnitude: 10}
      - {field: temperature, kind: shift, share: 40%, probability: 0.5, magnitude: 10}
`,
    })
    const whole = anomalySelections(s).map((a) => `${a.devices} of ${a.of}`)
    expect(whole[0]).toBe('9 of 30')
    const summed = [0, 0]
    for (let index = 0; index < 3; index++) {
      const shard = {index, count: 3}
      const press = expandDevices(s, {shard}).filter((d) => d.fleet === 'press')
      // What the shard's devices show, counted from their own streams.
      const showing = [0, 1].map((k) => press.filter((d) => selectsDevice(s.seed, 'press', 30, d.index, k, s.fleets[1].anomalies[k])).length)
      expect(anomalySelections(s, {shard}).map((a) => `${a.devices} of ${a.of}`), `shard ${index + 1}/3`).toEqual(showing.map((n) => `${n} of ${press.length}`))
      showing.forEach((n, k) => (summed[k] += n))
    }
    expect(summed.map(String)).toEqual(whole.map((w) => w.split(' ')[0]))
    // --fleet: only the named fleets, and the shard is of their devices.
    expect(anomalySelections(s, {fleets: ['a']})).toEqual([])
    expect(anomalySelections(s, {fleets: ['press'], shard: {index: 0, count: 3}}).map((a) => a.of)).toEqual([10, 10])
  })

  it('an exact count is refused with share beside it', () => {
    expect(() => fleet(1, 10, '      - {field: temperature, kind: spike, devices: 2, share: 10%, probability: 0.5, magnitude: 10}')).toThrow(/exactly one of share .* or devices/)
    expect(() => fleet(1, 10, '      - {field: temperature, kind: spike, devices: 1.5, probability: 0.5, magnitude: 10}')).toThrow(/devices must be a whole number/)
  })
})

describe('overlapping anomalies label only what is visible', () => {
  const FIELDS = 'vibration: {kind: gaussian, mean: 2.5, stddev: 0.3, resolution: 0.01}'

  it('a spike inside a stuck window neither starts nor is labelled; outside it, it is', () => {
    const {labels, payloads} = run(
      5,
      1,
      `      - {field: vibration, kind: stuck, devices: 1, schedule: {at: 0s}, duration: 10s}
      - {field: vibration, kind: spike, devices: 1, probability: 1, magnitude: 100}`,
      20,
      FIELDS,
    )
    const spikes = labels.filter((l) => l.kind === 'spike')
    const stuck = labels.filter((l) => l.kind === 'stuck')
    expect(stuck).toHaveLength(1)
    // Messages 0..9 are inside the 10 s stuck window: no spike starts there; every later message spikes.
    expect(spikes.map((l) => l.ts - stuck[0].ts)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19].map((k) => k * 1000))
    const values = payloads.get('press-0000')!.map((p) => JSON.parse(p!).vibration as number)
    expect(new Set(values.slice(0, 10)).size).toBe(1)
    expect(values.slice(10).every((v) => v > 90)).toBe(true)
  })

  it('nothing starts inside a dropout; spike and shift on one field combine and are both labelled', () => {
    const dropped = run(
      9,
      1,
      `      - {kind: dropout, devices: 1, schedule: {at: 0s}, duration: 5s}
      - {field: vibration, kind: spike, devices: 1, probability: 1, magnitude: 100}`,
      8,
      FIELDS,
    )
    expect(dropped.labels.map((l) => l.kind)).toEqual(['dropout', 'spike', 'spike', 'spike'])
    expect(dropped.payloads.get('press-0000')!.slice(0, 5)).toEqual([null, null, null, null, null])

    // A shift that outlasts the dropout it starts in is visible afterwards: it starts and is labelled.
    const outlasting = run(
      9,
      1,
      `      - {kind: dropout, devices: 1, schedule: {at: 0s}, duration: 5s}
      - {field: vibration, kind: shift, devices: 1, schedule: {at: 2s}, duration: 1m, magnitude: 10}`,
      8,
      FIELDS,
    )
    expect(outlasting.labels.map((l) => l.kind)).toEqual(['dropout', 'shift'])
    expect(outlasting.payloads.get('press-0000')!.slice(5).map((p) => JSON.parse(p!).vibration > 10)).toEqual([true, true, true])

    const both = run(
      9,
      1,
      `      - {field: vibration, kind: shift, devices: 1, schedule: {at: 0s}, duration: 1m, magnitude: 10}
      - {field: vibration, kind: spike, devices: 1, schedule: {at: 2s}, magnitude: 100}`,
      4,
      FIELDS,
    )
    expect(both.labels.map((l) => l.kind)).toEqual(['shift', 'spike'])
    const values = both.payloads.get('press-0000')!.map((p) => JSON.parse(p!).vibration as number)
    expect(values[2]).toBeGreaterThan(100)
    expect(values[3]).toBeLessThan(20)
  })
})
