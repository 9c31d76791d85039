/**
 * docs/pipeline-reference.md stays true: its option tables and function list are what the code generates, and
 * every pipeline in it loads and passes its own tests.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadPipeline, runPipelineTest} from '../../../src/pipeline/index.js'
import {componentReference, fillGenerated, functionReference} from '../../../src/pipeline/reference.js'
import {SINK_SPECS, SOURCE_SPECS} from '../../../src/pipeline/registry.js'

const root = join(import.meta.dirname, '../../..')
const file = join(root, 'docs/pipeline-reference.md')
const doc = readFileSync(file, 'utf8')

describe('docs/pipeline-reference.md', () => {
  it('has the generated blocks of today (run `npx tsx scripts/generate-pipeline-reference.ts`)', () => {
    const fresh = fillGenerated(fillGenerated(doc, 'functions', functionReference()), 'components', componentReference())
    expect(doc).toBe(fresh)
  })

  it('documents every source and sink kind', () => {
    for (const s of SOURCE_SPECS) expect(doc).toContain(`### Source \`${s.type}\``)
    for (const s of SINK_SPECS) expect(doc).toContain(`### Sink \`${s.type}\``)
  })

  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => /^version: 1$/m.test(b))
  it('has pipeline examples', () => expect(blocks.length).toBeGreaterThanOrEqual(4))
  blocks.forEach((text, i) => {
    it(`example ${i + 1} loads and passes its tests`, async () => {
      const pipeline = loadPipeline(file, {text})
      expect(pipeline.config.tests.length).toBeGreaterThan(0)
      for (const t of pipeline.config.tests) expect((await runPipelineTest(pipeline, t, `example ${i + 1}`)).failures).toEqual([])
    })
  })
})
