/**
 * Writes the JSON Schema of pipeline files, generated from the zod schemas and the registered source and sink
 * specs (src/pipeline/config/json-schema.ts). Run: npx tsx scripts/generate-pipeline-schema.ts
 * A unit test fails when the committed file is out of date.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {pipelineJsonSchemaText} from '../src/pipeline/config/json-schema.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const path = 'schemas/pipeline.schema.json'
writeFileSync(join(root, path), pipelineJsonSchemaText())
console.log(`wrote ${path}`)
