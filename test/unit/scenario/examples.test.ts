import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {createDeviceModel} from '../../../src/sim/generators/index.js'
import {expandDevices, loadScenario, scenarioJsonSchemaText} from '../../../src/sim/scenario/index.js'
import type {DeviceSpec} from '../../../src/sim/types.js'

const root = join(import.meta.dirname, '../../..')
const examples = readdirSync(join(root, 'scenarios')).filter((f) => f.endsWith('.yaml') && !f.includes('pipeline') && !f.includes('bench'))

describe('example scenarios', () => {
  it('include the three documented ones', () => {
    expect(examples).toEqual(expect.arrayContaining(['smart-factory.yaml', 'cold-chain.yaml', 'smart-building.yaml']))
  })

  it.each(examples)('%s loads, expands and samples every device', (name) => {
    const s = loadScenario(join(root, 'scenarios', name), {env: {}})
    const devices = expandDevices(s)
    // A Sparkplug-only plant has no MQTT fleet (test/unit/sparkplug/edge-node.test.ts samples its nodes).
    expect(devices.length + s.sparkplug.length).toBeGreaterThan(0)
    expect(new Set(devices.map((d) => d.clientId)).size).toBe(devices.length)
    const t0 = Date.UTC(2026, 0, 5, 9)
    for (const d of devices) {
      const model = createDeviceModel(s, d)
      for (let n = 0; n < 50; n++) {
        const sample = model.sample(n, t0 + n * d.everyMs)
        if (sample.payload !== null) expect(sample.payload.length).toBeGreaterThan(0)
        expect(sample.payload ?? '').not.toMatch(/NaN|undefined|Infinity/)
      }
    }
  })
})

describe('growing the fleets of the example scenarios', () => {
  it.each(examples)('%s keeps every existing device id and topic when each fleet gets 4 more devices', (name) => {
    const s = loadScenario(join(root, 'scenarios', name), {env: {}})
    const grown = {...s, fleets: s.fleets.map((f) => ({...f, count: f.count + 4}))}
    const identity = (d: DeviceSpec) => ({
      key: `${d.fleet}#${d.index}`,
      ids: [d.deviceId, d.clientId, d.topic, d.birth?.topic, d.lwt?.topic, d.death?.topic],
    })
    const before = expandDevices(s).map(identity)
    const after = new Map(expandDevices(grown).map((d) => [`${d.fleet}#${d.index}`, identity(d).ids]))
    expect(after.size).toBe(before.length + 4 * s.fleets.length)
    for (const d of before) expect(after.get(d.key), d.key).toEqual(d.ids)
  })
})

describe('schemas/scenario.schema.json', () => {
  it('is what scripts/generate-schemas.ts produces now (run `npx tsx scripts/generate-schemas.ts`)', () => {
    expect(readFileSync(join(root, 'schemas/scenario.schema.json'), 'utf8')).toBe(scenarioJsonSchemaText())
  })
})
