/**
 * Fills the generated blocks of docs/pipeline-reference.md (every source and sink option, every SQL function) from
 * the registered specs and the function registry. Run: npx tsx scripts/generate-pipeline-reference.ts
 * A unit test fails when the committed document is out of date.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {componentReference, fillGenerated, functionReference} from '../src/pipeline/reference.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const path = join(root, 'docs/pipeline-reference.md')
let doc = readFileSync(path, 'utf8')
doc = fillGenerated(doc, 'functions', functionReference())
doc = fillGenerated(doc, 'components', componentReference())
writeFileSync(path, doc)
console.log('wrote docs/pipeline-reference.md')
