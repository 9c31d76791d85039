import {describe, expect, it} from 'vitest'
import {createDeviceModel} from '../../../src/sim/generators/index.js'
import {expandDevices, loadScenario, type Scenario} from '../../../src/sim/scenario/index.js'
import type {AnomalyLabel} from '../../../src/sim/types.js'
import {scenarioProblems} from '../../helpers/scenario-problems.js'

/**
 * Issue #14 item 1: commands that start and stop a declared anomaly, on the device model (no broker, no clock: the
 * test hands it message times), and the load-time checks of anomaly names. Item 2: a command's mode against a schedule.
 */

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0)

const PRESS = (anomalies: string, extra = '') => `
version: 1
seed: 5
fleets:
  - name: press
    count: 3
    topic: "plant/{deviceId}"
    every: 1s
    fields:
      temp: {kind: walk, mean: 65, theta: 0.05, sigma: 0.4, min: 20, max: 120, resolution: 0.1}
      vib: {kind: gaussian, mean: 2.5, stddev: 0.3, resolution: 0.01}
      reading: {kind: derived, expr: "temp * 2", resolution: 0.1}
    anomalies:
${anomalies}
    commands:
      - {name: heat, topic: "{deviceId}/cmd/heat", anomaly: {start: overheat}}
      - {name: cool, topic: "{deviceId}/cmd/cool", anomaly: {stop: overheat}}
${extra}`

const OVERHEAT = '      - {name: overheat, field: temp, kind: out-of-range, magnitude: 10, duration: 5s}'

function model(s: Scenario, index = 0) {
  return createDeviceModel(s, expandDevices(s)[index])
}

function drive(m: ReturnType<typeof model>, from: number, to: number, labels: AnomalyLabel[], stepMs = 1000): Array<Record<string, number>> {
  const out: Array<Record<string, number>> = []
  for (let n = from; n < to; n++) {
    const sample = m.sample(n, T0 + n * stepMs)
    labels.push(...sample.labels)
    out.push(sample.payload === null ? {} : JSON.parse(sample.payload))
  }
  return out
}

describe('commands that start and stop an anomaly (device model)', () => {
  it('a start shows from the next message for its duration, labelled once its end is known; the seeded stream does not move', () => {
    const s = loadScenario('inline.yaml', {text: PRESS(OVERHEAT)})
    const plain = model(s)
    const commanded = model(s)
    const none: AnomalyLabel[] = []
    const labels: AnomalyLabel[] = []
    const before = drive(plain, 0, 20, none)
    const a = drive(commanded, 0, 5, labels)
    expect(commanded.startAnomaly('overheat', 'heat')).toBe(true)
    const b = drive(commanded, 5, 20, labels)
    const after = [...a, ...b]
    // Messages 5..9 (5 s from message 5) are out of range: the generator's max + 10.
    expect(after.map((p) => p.temp)).toEqual(before.map((p, n) => (n >= 5 && n < 10 ? 130 : p.temp)))
    // The other fields, and the anomaly's own field once it ended, are exactly the run without the command.
    expect(after.map((p) => p.vib)).toEqual(before.map((p) => p.vib))
    expect(after.slice(10)).toEqual(before.slice(10))
    // One label, written at the first message after its end; the seeded anomalies of the plain run: none.
    expect(none).toEqual([])
    expect(labels).toEqual([{ts: T0 + 5000, deviceId: 'press-0000', field: 'temp', kind: 'out-of-range', start: T0 + 5000, end: T0 + 10_000, name: 'overheat', source: 'command', command: 'heat'}])
  })

  it('a stop ends it early: the label ends at the stop, and the next message is the seeded value again', () => {
    const s = loadScenario('inline.yaml', {text: PRESS(OVERHEAT)})
    const plain = drive(model(s), 0, 12, [])
    const m = model(s)
    const labels: AnomalyLabel[] = []
    drive(m, 0, 3, labels)
    m.startAnomaly('overheat', 'heat')
    const on = drive(m, 3, 5, labels)
    expect(on.map((p) => p.temp)).toEqual([130, 130])
    expect(labels).toEqual([])
    expect(m.stopAnomaly('overheat', T0 + 4500)).toBe(true)
    const off = drive(m, 5, 12, labels)
    expect(off.map((p) => p.temp)).toEqual(plain.slice(5).map((p) => p.temp))
    expect(labels).toEqual([expect.objectContaining({start: T0 + 3000, end: T0 + 4500, source: 'command', name: 'overheat'})])
    // A stop with nothing running, and a start of a name the fleet does not declare.
    expect(m.stopAnomaly('overheat', T0 + 12_000)).toBe(true)
    expect(m.startAnomaly('overheet', 'heat')).toBe(false)
    expect(m.stopAnomaly('nope', T0 + 12_000)).toBe(false)
  })

  it('one still running when the run ends is labelled then, with its planned end; one hidden by a dropout is not labelled', () => {
    const s = loadScenario('inline.yaml', {text: PRESS(`${OVERHEAT}\n      - {name: gone, kind: dropout, devices: 3, schedule: {at: 2s}, duration: 30s}`)})
    const m = model(s)
    const labels: AnomalyLabel[] = []
    drive(m, 0, 4, labels)
    // The seeded dropout (2 s .. 32 s) hides everything the 5 s overheat would do: no label, no effect.
    expect(labels.map((l) => l.kind)).toEqual(['dropout'])
    m.startAnomaly('overheat', 'heat')
    drive(m, 4, 10, labels)
    expect(m.closeAnomalies()).toEqual([])
    expect(labels.map((l) => l.kind)).toEqual(['dropout'])

    const n = model(loadScenario('inline.yaml', {text: PRESS(OVERHEAT.replace('5s', '1m'))}))
    drive(n, 0, 2, [])
    n.startAnomaly('overheat', 'heat')
    const running: AnomalyLabel[] = []
    drive(n, 2, 6, running)
    expect(running).toEqual([])
    expect(n.closeAnomalies()).toEqual([expect.objectContaining({start: T0 + 2000, end: T0 + 62_000, command: 'heat'})])
  })

  it('a seeded occurrence of the same anomaly and a commanded one are labelled apart; a default name is anomaly-N', () => {
    const s = loadScenario('inline.yaml', {
      text: PRESS(`      - {field: vib, kind: spike, devices: 3, schedule: {at: 1s}, magnitude: 5}\n${OVERHEAT}`).replace('anomaly: {start: overheat}', 'anomaly: {start: "$.anomaly"}'),
    })
    const m = model(s)
    const labels: AnomalyLabel[] = []
    drive(m, 0, 3, labels)
    m.startAnomaly('anomaly-1', 'heat')
    drive(m, 3, 6, labels)
    // The seeded spike has no name: (its label as before); the commanded one carries the default name.
    expect(labels).toEqual([
      {ts: T0 + 1000, deviceId: 'press-0000', field: 'vib', kind: 'spike', start: T0 + 1000, end: T0 + 1000},
      {ts: T0 + 3000, deviceId: 'press-0000', field: 'vib', kind: 'spike', start: T0 + 3000, end: T0 + 3000, name: 'anomaly-1', source: 'command', command: 'heat'},
    ])
  })
})

describe('anomaly names at load (lint)', () => {
  it('a command naming an unknown anomaly: file:line:col and a did-you-mean', () => {
    const text = PRESS(OVERHEAT).replace('anomaly: {start: overheat}', 'anomaly: {start: overhaet}')
    const got = scenarioProblems(text)
    // Line 16, column 69 is the name in the rule (and only that: overheat not being started follows from it).
    expect(got).toEqual([
      expect.stringMatching(/^16:69 fleets\[0\]\.commands\[0\]\.anomaly\.start: unknown anomaly "overhaet" \(did you mean "overheat"\?\) \(anomalies of fleet press: overheat\)$/),
    ])
  })

  it('duplicate names, a fleet with no anomalies, and an anomaly that only a command could start but none does', () => {
    expect(scenarioProblems(PRESS(`${OVERHEAT}\n      - {name: overheat, field: vib, kind: stuck, devices: 1, probability: 0.1}`))).toEqual([
      expect.stringMatching(/^15:16 fleets\[0\]\.anomalies\[1\]\.name: duplicate anomaly name "overheat" \(also anomalies\[0\]\)/),
    ])
    const noAnomalies = PRESS('').replace('    anomalies:\n', '')
    expect(scenarioProblems(noAnomalies)).toEqual([expect.stringMatching(/fleets\[0\]\.commands\[0\]\.anomaly\.start: fleet press declares no anomalies/), expect.stringMatching(/commands\[1\]\.anomaly\.stop: fleet press declares no anomalies/)])
    const orphan = PRESS(`${OVERHEAT}\n      - {name: idle, field: vib, kind: stuck, duration: 1m}`)
    expect(scenarioProblems(orphan)).toEqual([expect.stringMatching(/^15:9 fleets\[0\]\.anomalies\[1\]: anomaly idle has no share or devices and no probability or schedule, so only a command starts it, but no command of fleet press does/)])
    // A rule that takes the name from the request may start any of them.
    expect(scenarioProblems(orphan.replace('anomaly: {start: overheat}', 'anomaly: {start: "$.anomaly"}'))).toEqual([])
    expect(scenarioProblems(PRESS(OVERHEAT).replace('anomaly: {stop: overheat}', 'anomaly: {}'))).toEqual([expect.stringMatching(/anomaly needs start or stop/)])
  })
})

const AHU = (rule: string) => `
version: 1
seed: 1
fleets:
  - name: ahu
    count: 1
    topic: "hvac/{deviceId}"
    every: 1m
    mode:
      initial: eco
      schedule:
        - {days: daily, from: "08:05", to: "08:20", mode: comfort}
        - {days: sat, from: "10:00", to: "11:00", mode: away}
    fields:
      mode: {kind: mode}
    commands:
      - {name: m, topic: "{deviceId}/cmd", ${rule}}
`

describe('a command\'s mode in a fleet whose mode follows a schedule', () => {
  // One message a minute from 08:00 (UTC, the fleet's zone).
  const modes = (m: ReturnType<typeof model>, from: number, to: number) => drive(m, from, to, [], 60_000).map((p) => p.mode as unknown as string)

  it('holds until the schedule\'s own mode changes, then the schedule takes over', () => {
    const m = model(loadScenario('inline.yaml', {text: AHU('mode: comfort')}))
    expect(modes(m, 0, 2)).toEqual(['eco', 'eco'])
    // The schedule's modes are modes a command may name; boost is none of them.
    expect(m.setMode('boost', {atMs: T0 + 90_000})).toBe(false)
    expect(m.setMode('comfort', {atMs: T0 + 90_000})).toBe(true)
    // 08:02 .. 08:04 the schedule says eco and the command's comfort holds; at 08:05 the schedule says comfort (a
    // change), and from then on it rules: comfort until 08:20, then eco.
    expect(modes(m, 2, 22)).toEqual([...Array(18).fill('comfort'), 'eco', 'eco'])
    // A command during the comfort window holds until 08:20, and not past it.
    const k = model(loadScenario('inline.yaml', {text: AHU('mode: away')}))
    modes(k, 0, 10)
    expect(k.setMode('away', {atMs: T0 + 9 * 60_000 + 30_000})).toBe(true)
    expect(modes(k, 10, 22)).toEqual([...Array(10).fill('away'), 'eco', 'eco'])
  })

  it('with for: it holds that long whatever the schedule does, then the schedule\'s mode shows', () => {
    const s = loadScenario('inline.yaml', {text: AHU('mode: {to: eco, for: 3m}')})
    expect(s.fleets[0].commands?.[0]).toMatchObject({mode: 'eco', modeFor: 180_000})
    const m = model(s)
    modes(m, 0, 6)
    expect(m.setMode('eco', {atMs: T0 + 6 * 60_000, forMs: 180_000})).toBe(true)
    // 08:06, 08:07, 08:08 held in eco (the schedule says comfort); from 08:09 comfort again.
    expect(modes(m, 6, 11)).toEqual(['eco', 'eco', 'eco', 'comfort', 'comfort'])
  })

  it('with for on a chain: the chain steps underneath, and the device is where it would have been after', () => {
    const text = AHU('mode: {to: eco, for: 3m}').replace(/ {6}schedule:\n(.*\n){2}/, '      transitions: {eco: {comfort: 0.3}, comfort: {eco: 0.3}}\n')
    const s = loadScenario('inline.yaml', {text})
    const plain = modes(model(s), 0, 20)
    const m = model(s)
    modes(m, 0, 5)
    m.setMode('comfort', {atMs: T0 + 5 * 60_000, forMs: 180_000})
    expect(modes(m, 5, 20)).toEqual(['comfort', 'comfort', 'comfort', ...plain.slice(8)])
  })
})
