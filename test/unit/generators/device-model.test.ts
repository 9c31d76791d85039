import {describe, expect, it} from 'vitest'
import {createDeviceModel, dueOffsetMs} from '../../../src/sim/generators/index.js'
import {expandDevices, loadScenario, type Scenario} from '../../../src/sim/scenario/index.js'
import type {DeviceSpec} from '../../../src/sim/types.js'
import {pressFleetYaml} from '../../helpers/press-fleet.js'

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0)

function scenario(yaml: string): Scenario {
  return loadScenario('inline.yaml', {text: yaml})
}

const FACTORY = (seed: number, extra = '', count = 4) =>
  pressFleetYaml(
    seed,
    count,
    `    mode:
      initial: running
      transitions: {running: {idle: 0.05, fault: 0.01}, idle: {running: 0.2}, fault: {running: 0.1}}
    fields:
      ts: {kind: timestamp}
      temperature: {kind: walk, mean: 65, theta: 0.05, sigma: 0.4, min: 20, max: 120, resolution: 0.1, byMode: {idle: {mean: 35}}}
      voltage: {kind: gaussian, mean: 230, stddev: 2, resolution: 0.1}
      current: {kind: uniform, min: 5, max: 10, resolution: 0.01}
      power: {kind: derived, expr: "voltage * current * 0.9", resolution: 1}
      status: {kind: mode}
      id: {kind: uuid}
      cycles: {kind: counter}
${extra}`,
  )

function run(s: Scenario, device: DeviceSpec, n: number, everyMs = device.everyMs): Array<string | null> {
  const model = createDeviceModel(s, device)
  const out: Array<string | null> = []
  for (let i = 0; i < n; i++) out.push(model.sample(i, T0 + i * everyMs).payload)
  return out
}

describe('DeviceModel determinism', () => {
  it('replays byte-identical payloads for the same seed over 1,000 samples', () => {
    const a = scenario(FACTORY(42))
    const b = scenario(FACTORY(42))
    const da = expandDevices(a)[2]
    const db = expandDevices(b)[2]
    expect(run(a, da, 1000)).toEqual(run(b, db, 1000))
  })

  it('changes the streams when the seed changes', () => {
    const a = scenario(FACTORY(42))
    const b = scenario(FACTORY(43))
    const pa = run(a, expandDevices(a)[2], 50)
    const pb = run(b, expandDevices(b)[2], 50)
    expect(pa.filter((p, i) => p !== pb[i]).length).toBeGreaterThan(45)
  })

  it('gives different devices of a fleet different streams', () => {
    const s = scenario(FACTORY(42))
    const [d0, d1] = expandDevices(s)
    expect(run(s, d0, 20)).not.toEqual(run(s, d1, 20))
  })

  it('keeps existing device streams identical when devices and fleets are added', () => {
    const small = scenario(FACTORY(7))
    const other = `  - name: compressor
    count: 3
    topic: "plant/{deviceId}"
    every: 5s
    fields:
      pressure: {kind: gaussian, mean: 7, stddev: 0.2}
`
    const big = scenario(FACTORY(7, other, 10).replace('fleets:\n', `fleets:\n  - name: aaa\n    count: 2\n    topic: x/{deviceId}\n    every: 2s\n    fields: {v: {kind: uniform, min: 0, max: 1}}\n`))
    const smallDevices = expandDevices(small)
    const bigDevices = expandDevices(big).filter((d) => d.fleet === 'press')
    expect(bigDevices.length).toBe(10)
    for (let i = 0; i < smallDevices.length; i++) {
      expect(bigDevices[i]).toEqual(smallDevices[i])
      expect(run(big, bigDevices[i], 200)).toEqual(run(small, smallDevices[i], 200))
    }
  })
})

describe('DeviceModel fields', () => {
  it('emits fields in declaration order with clean numbers', () => {
    const s = scenario(FACTORY(1))
    const payload = JSON.parse(run(s, expandDevices(s)[0], 1)[0] as string)
    expect(Object.keys(payload)).toEqual(['ts', 'temperature', 'voltage', 'current', 'power', 'status', 'id', 'cycles'])
    expect(payload.ts).toBe(T0)
    expect(payload.temperature).toBe(65)
    expect(payload.power).toBe(Math.round(payload.voltage * payload.current * 0.9))
    expect(payload.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('evaluates derived fields after the fields they read, even when declared before them', () => {
    const s = scenario(`
version: 1
seed: 3
fleets:
  - name: m
    count: 1
    topic: t/{deviceId}
    every: 1s
    fields:
      power: {kind: derived, expr: "voltage * current"}
      energy: {kind: derived, expr: "$prev + power * $dt / 3600", resolution: 0.001}
      voltage: 230
      current: {kind: sequence, values: [1, 2, 3]}
`)
    const payloads = run(s, expandDevices(s)[0], 3).map((p) => JSON.parse(p as string))
    expect(payloads.map((p) => p.power)).toEqual([230, 460, 690])
    expect(Object.keys(payloads[0])).toEqual(['power', 'energy', 'voltage', 'current'])
    // energy accumulates power × dt: 0, then 460 W·s/3600, then + 690/3600
    expect(payloads[1].energy).toBeCloseTo(460 / 3600, 3)
    // $prev is the unrounded previous value, so rounding does not carry over: (460 + 690) / 3600 = 0.3194...
    expect(payloads[2].energy).toBe(0.319)
  })

  it('accumulates with $prev below the resolution: 10 W for an hour at 1 s is 10 Wh', () => {
    const s = scenario(`
version: 1
seed: 3
fleets:
  - name: m
    count: 1
    topic: t/{deviceId}
    every: 1s
    fields:
      power: 10
      energyWh: {kind: derived, expr: "$prev + power * $dt / 3600", resolution: 0.01}
`)
    const energy = run(s, expandDevices(s)[0], 3601).map((p) => JSON.parse(p as string).energyWh as number)
    expect(energy[36]).toBe(0.1)
    expect(energy[3600]).toBeCloseTo(10, 6)
  })

  it('orders fields by the expressions of every mode, and evaluates byMode expressions', () => {
    const s = scenario(`
version: 1
seed: 3
fleets:
  - name: m
    count: 1
    topic: t/{deviceId}
    every: 1s
    mode: {initial: hot}
    fields:
      alarm: {kind: derived, expr: "0", byMode: {hot: {expr: "later + 1"}}}
      later: {kind: sequence, values: [5, 6, 7]}
`)
    const payloads = run(s, expandDevices(s)[0], 3).map((p) => JSON.parse(p as string))
    expect(payloads.map((p) => p.alarm)).toEqual([6, 7, 8])
    expect(Object.keys(payloads[0])).toEqual(['alarm', 'later'])
  })

  it('renders constant strings with the device vars', () => {
    const s = scenario(`
version: 1
fleets:
  - name: m
    count: 2
    vars: {site: {cycle: [berlin, austin]}}
    topic: t/{deviceId}
    every: 1s
    fields: {who: "{deviceId}@{site}", unit: "°C", on: true}
`)
    const payloads = expandDevices(s).map((d) => run(s, d, 1)[0])
    expect(payloads).toEqual(['{"who":"m-0000@berlin","unit":"°C","on":true}', '{"who":"m-0001@austin","unit":"°C","on":true}'])
  })
})

describe('mode machine in a device', () => {
  it('visits modes with the configured transition rates and applies byMode', () => {
    const s = scenario(FACTORY(11))
    const device = expandDevices(s)[0]
    const model = createDeviceModel(s, device)
    const counts: Record<string, number> = {}
    let idleTemp = 0
    let idleN = 0
    for (let i = 0; i < 20_000; i++) {
      const p = JSON.parse(model.sample(i, T0 + i * 1000).payload as string)
      counts[p.status] = (counts[p.status] ?? 0) + 1
      if (p.status === 'idle') {
        idleTemp += p.temperature
        idleN++
      }
    }
    // Stationary distribution of the chain: running ∝ 1, idle ∝ 0.05/0.2 = 0.25, fault ∝ 0.01/0.1 = 0.1.
    const total = 1.35
    expect(counts.running / 20_000).toBeCloseTo(1 / total, 1)
    expect(counts.idle / 20_000).toBeCloseTo(0.25 / total, 1)
    expect(counts.fault / 20_000).toBeCloseTo(0.1 / total, 1)
    // idle pulls the walk towards 35 (it rarely stays idle long enough to get all the way there).
    expect(idleTemp / idleN).toBeLessThan(62)
  })
})

describe('anomalies', () => {
  const withAnomaly = (anomaly: string, count = 1, seed = 5) =>
    scenario(`
version: 1
seed: ${seed}
fleets:
  - name: m
    count: ${count}
    topic: t/{deviceId}
    every: 1s
    fields:
      temperature: {kind: gaussian, mean: 20, stddev: 0.5, min: 0, max: 40, resolution: 0.1}
      level: {kind: counter}
    anomalies:
      - ${anomaly}
`)

  it('affects about the configured share of devices', () => {
    const s = withAnomaly('{field: temperature, kind: spike, share: 20%, probability: 1, magnitude: 100}', 2000)
    const affected = expandDevices(s).filter((d) => createDeviceModel(s, d).sample(0, T0).labels.length > 0).length
    expect(affected / 2000).toBeGreaterThan(0.17)
    expect(affected / 2000).toBeLessThan(0.23)
  })

  it('labels a scheduled anomaly with its start and end, and shifts the value meanwhile', () => {
    const s = withAnomaly('{field: temperature, kind: shift, share: 100%, schedule: {at: 10s, every: 60s}, duration: 5s, magnitude: 100}')
    const model = createDeviceModel(s, expandDevices(s)[0])
    const labels = []
    const temps: number[] = []
    for (let i = 0; i < 130; i++) {
      const sample = model.sample(i, T0 + i * 1000)
      labels.push(...sample.labels)
      temps.push(JSON.parse(sample.payload as string).temperature)
    }
    expect(labels).toEqual([
      {ts: T0 + 10_000, deviceId: 'm-0000', field: 'temperature', kind: 'shift', start: T0 + 10_000, end: T0 + 15_000},
      {ts: T0 + 70_000, deviceId: 'm-0000', field: 'temperature', kind: 'shift', start: T0 + 70_000, end: T0 + 75_000},
    ])
    expect(temps.slice(10, 15).every((t) => t > 100)).toBe(true)
    expect(temps[9]).toBeLessThan(40)
    expect(temps[15]).toBeLessThan(40)
  })

  it('holds a stuck value for the duration', () => {
    const s = withAnomaly('{field: temperature, kind: stuck, share: 100%, schedule: {at: 3s}, duration: 10s}')
    const model = createDeviceModel(s, expandDevices(s)[0])
    const temps = Array.from({length: 20}, (_, i) => JSON.parse(model.sample(i, T0 + i * 1000).payload as string).temperature)
    expect(new Set(temps.slice(3, 13)).size).toBe(1)
    expect(new Set(temps.slice(13)).size).toBeGreaterThan(1)
  })

  it('freezes a whole gps reading while stuck, and only while the label says so', () => {
    const s = scenario(`
version: 1
seed: 5
fleets:
  - name: truck
    count: 1
    topic: t/{deviceId}
    every: 1s
    fields:
      pos: {kind: gps, route: [[53.55, 9.99], [53.58, 10.02]], speedKmh: 50}
    anomalies:
      - {field: pos, kind: stuck, share: 100%, schedule: {at: 3s}, duration: 10s}
`)
    const model = createDeviceModel(s, expandDevices(s)[0])
    const samples = Array.from({length: 20}, (_, i) => model.sample(i, T0 + i * 1000))
    const positions = samples.map((x) => JSON.stringify(JSON.parse(x.payload as string).pos))
    expect(samples[3].labels).toEqual([{ts: T0 + 3000, deviceId: 'truck-0000', field: 'pos', kind: 'stuck', start: T0 + 3000, end: T0 + 13_000}])
    expect(new Set(positions.slice(3, 13)).size).toBe(1)
    expect(new Set(positions.slice(0, 4)).size).toBe(4)
    expect(new Set(positions.slice(12)).size).toBe(8)
  })

  it('suppresses whole messages during a dropout while the counter keeps counting', () => {
    const s = withAnomaly('{kind: dropout, share: 100%, schedule: {at: 2s}, duration: 3s}')
    const model = createDeviceModel(s, expandDevices(s)[0])
    const samples = Array.from({length: 8}, (_, i) => model.sample(i, T0 + i * 1000))
    expect(samples.map((x) => x.payload === null)).toEqual([false, false, true, true, true, false, false, false])
    expect(samples[2].labels).toEqual([{ts: T0 + 2000, deviceId: 'm-0000', field: '*', kind: 'dropout', start: T0 + 2000, end: T0 + 5000}])
    expect(JSON.parse(samples[5].payload as string).level).toBe(5)
  })

  it('pushes out-of-range values past the generator max', () => {
    const s = withAnomaly('{field: temperature, kind: out-of-range, share: 100%, probability: 1, magnitude: 5}')
    const sample = createDeviceModel(s, expandDevices(s)[0]).sample(0, T0)
    expect(JSON.parse(sample.payload as string).temperature).toBe(45)
  })
})

describe('dueOffsetMs', () => {
  it('is phase + n × every without jitter, and jitter stays within bounds without accumulating', () => {
    const s = scenario(FACTORY(9).replace('every: 1s', 'every: 1s\n    jitter: 200ms'))
    const d = expandDevices(s)[0]
    const plain = {...d, jitterMs: 0}
    expect(dueOffsetMs(plain, 10, 9)).toBe(d.phaseMs + 10_000)
    const offsets = Array.from({length: 5000}, (_, n) => dueOffsetMs(d, n, 9) - (d.phaseMs + n * 1000))
    expect(Math.max(...offsets.map(Math.abs))).toBeLessThan(200)
    expect(Math.max(...offsets)).toBeGreaterThan(150)
    expect(Math.min(...offsets)).toBeLessThan(-150)
    expect(Math.abs(offsets.reduce((a, b) => a + b, 0) / offsets.length)).toBeLessThan(10)
    expect(dueOffsetMs(d, 4321, 9)).toBe(dueOffsetMs(d, 4321, 9))
    expect(dueOffsetMs(d, 4321, 10)).not.toBe(dueOffsetMs(d, 4321, 9))
  })
})
