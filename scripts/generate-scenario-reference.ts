/**
 * Fills the generated generator section of docs/scenario-reference.md from the generator kinds' specs
 * (src/sim/generators/kinds/). Run: npx tsx scripts/generate-scenario-reference.ts
 * A unit test fails when the committed document is out of date.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {fillGenerated} from '../src/pipeline/reference.js'
import {generatorReference} from '../src/sim/generators/reference.js'

const path = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs/scenario-reference.md')
writeFileSync(path, fillGenerated(readFileSync(path, 'utf8'), 'generators', generatorReference()))
console.log('wrote docs/scenario-reference.md')
