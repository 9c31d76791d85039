import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {createDeviceModel} from '../../../src/sim/generators/index.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'

/** Every ```yaml block of the reference is a complete scenario (fragments are marked ```yaml fragment). */
const docFile = join(import.meta.dirname, '../../../docs/scenario-reference.md')
const blocks = [...readFileSync(docFile, 'utf8').matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m, i) => [i + 1, m[1]] as const)

describe('docs/scenario-reference.md examples', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThan(15)
  })

  it.each(blocks)('block %i loads and samples', (_i, text) => {
    const s = loadScenario(join(import.meta.dirname, 'doc-example.yaml'), {text, env: {}})
    const device = expandDevices(s)[0]
    const model = createDeviceModel(s, device)
    for (let n = 0; n < 10; n++) model.sample(n, Date.UTC(2026, 0, 5, 10) + n * device.everyMs)
  })
})
