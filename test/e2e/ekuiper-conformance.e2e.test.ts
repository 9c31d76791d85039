/**
 * eKuiper conformance (issue #16, acceptance 1): the cases under test/conformance/ — each a rule, its input and the
 * rows eKuiper documents or its own tests expect, naming where they come from — run through `iotd pipeline test`
 * as a user runs them. Every case must pass; deliberate differences are listed in docs/pipeline-reference.md.
 */
import {mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT, runCli} from '../helpers/cli.js'

interface Result {
  file: string
  name: string
  ok: boolean
  failures: string[]
}

describe('eKuiper conformance suite (iotd pipeline test test/conformance)', () => {
  it('runs at least 150 cases, each naming its eKuiper source, and every one passes', async () => {
    const r = await runCli(['pipeline', 'test', 'test/conformance', '--json'], {timeoutMs: 120_000})
    const out = JSON.parse(r.stdout) as {passed: number; failed: number; results: Result[]}
    const failed = out.results.filter((x) => !x.ok).map((x) => `${x.file}: ${x.name}\n  ${x.failures.join('\n  ')}`)
    expect(failed).toEqual([])
    expect(r.code).toBe(0)
    expect(out.passed).toBeGreaterThanOrEqual(150)
    // Every case says where it comes from: a page of eKuiper's docs or one of its test files.
    const unsourced = out.results.filter((x) => !/\[(docs\/en_US\/\S+\.md|internal\/\S+_test\.go)[^\]]*\]/.test(x.name)).map((x) => x.name)
    expect(unsourced).toEqual([])
  }, 150_000)

  it('fails (exit 1) and says which row differs when a case is wrong', async () => {
    const text = readFileSync(join(ROOT, 'test/conformance/math.yaml'), 'utf8').replace('expect: [{r: 10}]', 'expect: [{r: 11}]')
    const dir = mkdtempSync(join(tmpdir(), 'sql-conformance-'))
    writeFileSync(join(dir, 'math.yaml'), text)
    const r = await runCli(['pipeline', 'test', join(dir, 'math.yaml')])
    rmSync(dir, {recursive: true, force: true})
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('FAIL')
    expect(r.stdout).toContain('row 1: expected {"r":11}, got {"r":10}')
    expect(r.stdout).toMatch(/\d+ passed, 1 failed/)
  }, 60_000)

  it('holds one pipeline file per function family', () => {
    expect(readdirSync(join(ROOT, 'test/conformance')).filter((f) => f.endsWith('.yaml')).sort()).toEqual(['collections.yaml', 'math.yaml', 'rules.yaml', 'strings.yaml'])
  })
})
