/** `iotd pipeline test` machinery: companion test files, failures that say what differed, rule selection. */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {companionTestFile, loadPipeline, loadTestFile, runPipelineTest} from '../../../src/pipeline/index.js'
import {ConfigError} from '../../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-tests-'))
const flow = join(dir, 'flow.yaml')
writeFileSync(
  flow,
  `version: 1
sources: {s: {type: stdin, timestamp: ts}}
rules:
  - {name: double, sql: "SELECT v * 2 AS d FROM s"}
  - {name: sum, sql: "SELECT sum(v) AS total FROM s GROUP BY TUMBLINGWINDOW(ss, 1)"}
`,
)

describe('pipeline tests', () => {
  it('finds <name>.test.yaml next to the pipeline and runs its tests against the named rule', async () => {
    writeFileSync(
      join(dir, 'flow.test.yaml'),
      `tests:
  - name: doubles
    rule: double
    input: [{ts: 1, v: 1}, {ts: 2, v: 2.5}]
    expect: [{d: 2}, {d: 5}]
  - name: sums per second
    rule: sum
    input: [{ts: 100, v: 1}, {ts: 900, v: 2}, {ts: 1500, v: 4}]
    expect: [{total: 3}, {total: 4}]
    metrics: {windowsFired: 2, lateDropped: 0}
`,
    )
    const companion = companionTestFile(flow)
    expect(companion).toBe(join(dir, 'flow.test.yaml'))
    const pipeline = loadPipeline(flow)
    const results = await Promise.all(loadTestFile(companion!).map((t) => runPipelineTest(pipeline, t, companion!)))
    expect(results.map((r) => [r.name, r.failures])).toEqual([
      ['doubles', []],
      ['sums per second', []],
    ])
  })

  it('reports missing, unexpected and different rows and wrong metrics', async () => {
    const pipeline = loadPipeline(flow)
    const r = await runPipelineTest(
      pipeline,
      {name: 'wrong', rule: 'sum', input: [{ts: 100, v: 1}, {ts: 1500, v: 4}], endOfInput: true, expect: [{total: 2}], metrics: {windowsFired: 5}},
      flow,
    )
    expect(r.ok).toBe(false)
    expect(r.failures).toEqual(['row 1: expected {"total":2}, got {"total":1}', 'row 2: unexpected {"total":4}', 'expected 1 rows, got 2', 'metric windowsFired: expected 5, got 2'])
  })

  it('asks which rule when there are several, and names unknown ones', async () => {
    const pipeline = loadPipeline(flow)
    const base = {name: 't', input: [], endOfInput: true, expect: []}
    // A test that cannot run fails with the reason; the other tests still run (issue #16, item 9).
    const several = await runPipelineTest(pipeline, base, flow)
    expect(several.ok).toBe(false)
    expect(several.failures[0]).toMatch(/rules .*; name one with rule:/)
    const unknown = await runPipelineTest(pipeline, {...base, rule: 'nope'}, flow)
    expect(unknown.failures).toEqual([expect.stringMatching(/no rule named nope/)])
  })

  it('checks test files like pipeline files: file:line:col', () => {
    const bad = join(dir, 'bad.test.yaml')
    writeFileSync(bad, 'tests:\n  - name: x\n    input: []\n    expect: []\n    expct: []\n')
    expect(() => loadTestFile(bad)).toThrow(ConfigError)
    expect(() => loadTestFile(bad)).toThrow(/bad\.test\.yaml:5:5: unknown key "expct"/)
  })
})
