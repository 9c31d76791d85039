import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {pipelineJsonSchemaText} from '../../../src/pipeline/index.js'

const root = join(import.meta.dirname, '../../..')

describe('schemas/pipeline.schema.json', () => {
  it('is what scripts/generate-pipeline-schema.ts produces now (run `npx tsx scripts/generate-pipeline-schema.ts`)', () => {
    expect(readFileSync(join(root, 'schemas/pipeline.schema.json'), 'utf8')).toBe(pipelineJsonSchemaText())
  })

  it('offers every registered source and sink type', () => {
    const text = pipelineJsonSchemaText()
    for (const t of ['stdin', 'file', 'sim', 'stdout']) expect(text).toContain(`"const": "${t}"`)
  })
})
