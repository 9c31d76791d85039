import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {GRAMMAR_PATH, PARSER_PATH, PARSER_TYPES, TYPES_PATH, generateParserSource} from '../../../scripts/generate-parser.js'

describe('generated parser', () => {
  it('is what the committed grammar generates (run npx tsx scripts/generate-parser.ts when this fails)', () => {
    const fresh = generateParserSource(readFileSync(GRAMMAR_PATH, 'utf8'))
    expect(readFileSync(PARSER_PATH, 'utf8') === fresh).toBe(true)
    expect(readFileSync(TYPES_PATH, 'utf8')).toBe(PARSER_TYPES)
  })
})
