/**
 * Writes the JSON Schema of bench results (what `iotd bench --json` prints and `--out` saves), generated from the
 * zod schema in src/bench/bench-result.ts. Run: npx tsx scripts/generate-bench-schema.ts
 * A unit test fails when the committed file is out of date.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {benchResultJsonSchemaText} from '../src/bench/bench-result.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const path = 'schemas/bench-result.schema.json'
writeFileSync(join(root, path), benchResultJsonSchemaText())
console.log(`wrote ${path}`)
