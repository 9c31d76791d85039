/**
 * Writes the JSON Schemas generated from the zod validators into schemas/, for editor completion
 * (`# yaml-language-server: $schema=../schemas/scenario.schema.json`). Run: npx tsx scripts/generate-schemas.ts
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {scenarioJsonSchemaText} from '../src/sim/scenario/json-schema.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outputs: Array<[string, () => string]> = [['schemas/scenario.schema.json', scenarioJsonSchemaText]]

for (const [path, render] of outputs) {
  writeFileSync(join(root, path), render())
  console.log(`wrote ${path}`)
}
