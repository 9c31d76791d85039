/**
 * Acceptance 1: every rule of docs/window-semantics.md is checked through pipeline test files — the format
 * users write for `iotd pipeline test` — run here through the same test runner the command uses.
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadPipeline, runPipelineTest} from '../../../src/pipeline/index.js'

const dir = join(import.meta.dirname, 'window-semantics')
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()

describe('window semantics through pipeline test files', () => {
  it('has test files', () => expect(files.length).toBeGreaterThan(0))
  for (const f of files) {
    const pipeline = loadPipeline(join(dir, f))
    describe(f, () => {
      for (const t of pipeline.config.tests) {
        it(t.name, async () => {
          const r = await runPipelineTest(pipeline, t, f)
          expect(r.failures).toEqual([])
        })
      }
    })
  }
})
