/**
 * A shard records the definition of the run it is a part of (sim/scenario/fingerprint.ts), so `iotd sim merge` can
 * refuse shards of different files with one name and seed. What decides which devices exist and what they send
 * changes the fingerprint; where they ran, how long, and the name and seed (compared on their own) do not.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {scenarioFingerprint} from '../../../src/sim/scenario/fingerprint.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-fingerprint-'))
let n = 0
function load(yaml: string) {
  const file = join(dir, `s${n++}.yaml`)
  writeFileSync(file, yaml)
  return loadScenario(file)
}

const BASE = `version: 1
name: hvac
seed: 77
fleets:
  - name: zone
    count: 24
    topic: "bldg/{deviceId}"
    every: 5s
    fields:
      t: {kind: gaussian, mean: 21, stddev: 0.5}
  - name: pump
    count: 4
    topic: "bldg/{deviceId}"
    every: 10s
    fields:
      on: true
`

describe('scenarioFingerprint', () => {
  const base = scenarioFingerprint(load(BASE))

  it('is 16 hex digits with the whole run\'s devices, and the same for the same definition', () => {
    expect(base.fingerprint).toMatch(/^[0-9a-f]{16}$/)
    expect(base.devices).toBe(28)
    expect(scenarioFingerprint(load(BASE))).toEqual(base)
  })

  it('changes with what decides the devices: a count, a field, a topic, an interval, the fleets selected', () => {
    const changed = [
      BASE.replace('count: 24', 'count: 30'),
      BASE.replace('stddev: 0.5', 'stddev: 0.6'),
      BASE.replace('topic: "bldg/{deviceId}"', 'topic: "site/{deviceId}"'),
      BASE.replace('every: 10s', 'every: 20s'),
    ].map((yaml) => scenarioFingerprint(load(yaml)).fingerprint)
    expect(new Set([base.fingerprint, ...changed]).size).toBe(5)
    expect(scenarioFingerprint(load(BASE.replace('count: 24', 'count: 30'))).devices).toBe(34)
    const zoneOnly = scenarioFingerprint(load(BASE), {fleets: ['zone']})
    expect(zoneOnly.devices).toBe(24)
    expect(zoneOnly.fingerprint).not.toBe(base.fingerprint)
  })

  it('does not change with the name, seed, description, duration, limit, labels file or where the devices connect', () => {
    const same = [
      BASE.replace('name: hvac', 'name: other'),
      BASE.replace('seed: 77', 'seed: 78'),
      BASE.replace('seed: 77', 'seed: 77\ndescription: x\nduration: 1m\nlimit: 100\nlabels: l.jsonl'),
      BASE.replace('seed: 77', 'seed: 77\nbroker:\n  url: mqtt://elsewhere:1883\n  username: u\n  password: secret'),
    ].map((yaml) => scenarioFingerprint(load(yaml)).fingerprint)
    expect(same).toEqual([base.fingerprint, base.fingerprint, base.fingerprint, base.fingerprint])
  })

  it('counts a behaviour module by its text, not by where the checkout is', () => {
    const module = 'export default {onTick() {}}\n'
    // The same module in two checkouts (two directories), and an edited one.
    const withBehavior = (checkout: string, text: string) => {
      const file = join(mkdtempSync(join(dir, `${checkout}-`)), 'pump.mjs')
      writeFileSync(file, text)
      return scenarioFingerprint(load(BASE.replace('count: 4\n', `count: 4\n    behavior: ${file}\n`))).fingerprint
    }
    const a = withBehavior('a', module)
    expect(withBehavior('b', module)).toBe(a)
    expect(withBehavior('c', `${module}// changed\n`)).not.toBe(a)
  })
})
