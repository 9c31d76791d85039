import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {fillGenerated} from '../../../src/pipeline/reference.js'
import {createDeviceModel} from '../../../src/sim/generators/index.js'
import {generatorReference} from '../../../src/sim/generators/reference.js'
import {GENERATOR_KINDS} from '../../../src/sim/generators/registry.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'

/** Every ```yaml block of the reference is a complete scenario (fragments are marked ```yaml fragment). */
const docFile = join(import.meta.dirname, '../../../docs/scenario-reference.md')
const doc = readFileSync(docFile, 'utf8')
const blocks = [...doc.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m, i) => [i + 1, m[1]] as const)

describe('docs/scenario-reference.md', () => {
  it('has the generator section of today (run `npx tsx scripts/generate-scenario-reference.ts`)', () => {
    expect(doc).toBe(fillGenerated(doc, 'generators', generatorReference()))
  })

  it('documents every generator kind', () => {
    for (const kind of GENERATOR_KINDS) expect(doc).toContain(`### \`${kind}\``)
  })

  it('has examples', () => {
    expect(blocks.length).toBeGreaterThan(15)
  })

  it.each(blocks)('block %i loads and its first device publishes every field it declares', (_i, text) => {
    const s = loadScenario(join(import.meta.dirname, 'doc-example.yaml'), {text, env: {}})
    const device = expandDevices(s)[0]
    const fleet = s.fleets.find((f) => f.name === device.fleet)!
    const model = createDeviceModel(s, device)
    const payloads: string[] = []
    for (let n = 0; n < 10; n++) {
      const sample = model.sample(n, Date.UTC(2026, 0, 5, 10) + n * device.everyMs)
      if (sample.payload !== null) payloads.push(sample.payload)
    }
    expect(payloads.length).toBeGreaterThan(0)
    const payload = fleet.payload
    if (payload.format === 'json') {
      const keys = Object.keys(JSON.parse(payloads[0]) as object)
      expect(keys).toEqual(payload.fields ?? Object.keys(fleet.fields))
    } else {
      for (const p of payloads) expect(p.length).toBeGreaterThan(0)
    }
  })
})
