import {describe, expect, it} from 'vitest'
import type {ConfigProblem} from '../../../src/errors.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'

/**
 * The shipped smart-building (seed 2024) had one anomaly, `share: 10%` of its 12 hvac zones, and lint listed it as
 * "0 of 12 devices" without a word: a chance per device that drew none, so it never fired. Lint and a run's start
 * now warn at the share key, with an exact devices: to write instead.
 */
const SCENARIO = (seed: string, selection: string, count = 12) =>
  `version: 1\nname: b\n${seed}fleets:\n  - name: hvac\n    count: ${count}\n    topic: "b/{deviceId}"\n    every: 30s\n    fields:\n      roomTemp: {kind: walk, mean: 21.5, theta: 0.01, sigma: 0.05}\n    anomalies:\n      - {field: roomTemp, kind: noise, ${selection}, probability: 0.0005, duration: 10m, magnitude: 1.5}\n`

function warnings(text: string, seed?: number): string[] {
  const got: ConfigProblem[] = []
  loadScenario('b.yaml', {text, env: {}, seed, onWarning: (p) => got.push(p)})
  return got.map((p) => `${p.line}:${p.col} ${p.message}`)
}

describe('an anomaly whose share: drew no device', () => {
  it('is warned about at its share key, with the seed, what was expected and the devices: to write', () => {
    expect(warnings(SCENARIO('seed: 2024\n', 'share: 10%'))).toEqual([
      "12:47 fleets[0].anomalies[0].share: anomaly noise on roomTemp selects none of hvac's 12 devices with seed 2024: share: 10% is a chance per device, and none was drawn (1.2 expected); write devices: 1 to select exactly one",
    ])
    // Half of 3: one and a half expected, two suggested.
    expect(warnings(SCENARIO('seed: 1\n', 'share: 50%', 3))[0]).toContain("selects none of hvac's 3 devices with seed 1: share: 50% is a chance per device, and none was drawn (1.5 expected); write devices: 2 to select exactly 2")
  })

  it('counts with the seed the run uses (--seed), and says when the seed was drawn for this load', () => {
    // Seed 1 draws some of the 12 for the same share: nothing to say.
    expect(warnings(SCENARIO('seed: 1\n', 'share: 10%'))).toEqual([])
    expect(warnings(SCENARIO('seed: 1\n', 'share: 10%'), 2024)).toHaveLength(1)
    expect(warnings(SCENARIO('seed: 2024\n', 'share: 10%'), 1)).toEqual([])
    // No seed in the file: every load draws one; when it draws none, the warning says another run may differ.
    const drawn = Array.from({length: 40}, () => warnings(SCENARIO('', 'share: 1%', 3))).find((w) => w.length > 0)
    expect(drawn?.[0]).toMatch(/with seed \d+ \(drawn for this load: the scenario sets no seed, so another run may draw some\)/)
  })

  it('an exact devices: is not a chance and is never warned about; nor is an anomaly only commands start', () => {
    expect(warnings(SCENARIO('seed: 2024\n', 'devices: 1'))).toEqual([])
    expect(warnings(SCENARIO('seed: 2024\n', 'devices: 10%'))).toEqual([])
  })

  it('a Modbus fault whose share drew none is warned about too', () => {
    const modbus = `version: 1\nname: m\nseed: 3\nmodbus:\n  - name: skid\n    port: 5030\n    units: [1]\n    every: 1s\n    tags:\n      - {name: p, table: holding, address: 0, value: 1}\n    faults:\n      - {kind: no-response, share: 1%, probability: 0.01, duration: 5s}\n`
    const w = warnings(modbus)
    expect(w).toHaveLength(1)
    expect(w[0]).toMatch(/modbus\[0\]\.faults\[0\]\.share: fault no-response selects none of skid's 1 device with seed 3/)
  })
})
