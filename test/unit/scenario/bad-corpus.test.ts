import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ConfigError} from '../../../src/errors.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'

/**
 * Every file in test/fixtures/scenarios/bad/ states on line 1 what is wrong and where:
 * `# expect: LINE:COL words of the message`. Loading must fail with a ConfigError that names the file at that
 * position with a message containing the words, one line per problem and no stack trace.
 */
const dir = join(import.meta.dirname, '../../fixtures/scenarios/bad')
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()

describe('malformed scenario corpus', () => {
  it('has at least 30 files', () => {
    expect(files.length).toBeGreaterThanOrEqual(30)
  })

  it.each(files)('%s is rejected at the stated place', (name) => {
    const file = join(dir, name)
    const expectation = /^# expect: (\d+):(\d+) (.+)$/.exec(readFileSync(file, 'utf8').split('\n')[0])
    expect(expectation, 'line 1 must be "# expect: LINE:COL words"').not.toBeNull()
    const [, line, col, words] = expectation as RegExpExecArray
    let error: unknown
    try {
      loadScenario(file, {env: {}})
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as ConfigError).message
    const lines = message.split('\n')
    expect(lines.length).toBe((error as ConfigError).problems.length)
    for (const l of lines) expect(l).toMatch(new RegExp(`^${escape(file)}(:\\d+:\\d+)?: \\S`))
    expect(message).not.toMatch(/\n\s+at /)
    const hit = lines.find((l) => l.startsWith(`${file}:${line}:${col}: `) && l.includes(words))
    expect(hit, `expected a problem at ${line}:${col} containing "${words}" in:\n${message}`).toBeDefined()
  })
})

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
