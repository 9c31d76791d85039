/**
 * `iotd pipeline lint` on malformed and suspicious pipelines (issue #16, acceptance 3): each file under
 * test/fixtures/lint/ gives exactly one clear `file:line:col` error, with a did-you-mean where one helps, and lint
 * exits 1. Also: every problem in one pass, and numbers where the docs write numbers.
 */
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {ConfigError, formatProblem} from '../../src/errors.js'
import {loadPipeline} from '../../src/pipeline/index.js'
import {runCli} from '../helpers/cli.js'

const DIR = 'test/fixtures/lint'

/** file -> the one error it must give: position and what the message must say. */
const CASES: Record<string, string> = {
  'aggregate-in-where': "6:39: rule rule1: aggregate avg() is not allowed in WHERE: WHERE filters single events; use HAVING",
  'aggregate-without-window': '6:17: rule rule1: aggregate avg() needs a window',
  'alias-in-where': "6:60: rule rule1: 'fahrenheit' is an alias from the SELECT list; WHERE runs before SELECT",
  'cast-unknown-type': "6:17: rule rule1: cast: unknown type 'integr'",
  'changed-cols-with-alias': '6:17: rule rule1: changed_cols() returns several columns: name them with its prefix argument, not AS',
  'double-quoted-field': '6:39: rule rule1: "temperature" is a string in eKuiper SQL, not the field temperature: write temperature',
  'limit-without-window': '6:45: rule rule1: LIMIT needs a window',
  'order-by-without-window': '6:38: rule rule1: ORDER BY needs a window',
  'partition-on-a-scalar-function': '6:17: rule rule1: OVER (PARTITION BY … WHEN …) applies to analytic functions',
  'syntax-error': "6:41: rule rule1: expected an expression after '>', found end of input",
  'text-arithmetic': "6:17: rule rule1: '+' works on numbers, not the text 'id-'; use concat()",
  'unknown-function-by-meaning': '6:17: rule rule1: unknown function stdev(); did you mean stddev()?',
  'unknown-function-topic': '6:17: rule rule1: unknown function topic(); did you mean meta(topic)?',
  'unknown-function-typo': '6:17: rule rule1: unknown function lenght(); did you mean length()?',
  'unknown-meta-key': "6:17: rule rule1: unknown metadata 'topik'; did you mean meta(topic)?",
  'unknown-rule-key': '7:5: unknown key "lateTolerence" in rules[0]; did you mean "lateTolerance"?',
  'unknown-sink-option-value': '7:36: rules[0].sinks[0].format: unknown format "tabel"; did you mean table? (one of ndjson, table)',
  'unknown-sink-type': '7:20: rules[0].sinks[0].type: unknown sink type "postgress"; did you mean "postgres"?',
  'unknown-source-in-from': "6:27: rule rule1: unknown source 'telemetri'; did you mean 'telemetry'?",
  'unknown-source-option': '4:34: sources.s: unknown key "timeColum"; did you mean "timeColumn"?',
  'unknown-source-type': '4:13: sources.s.type: unknown source type "mqqt"; did you mean "mqtt"?',
  'unknown-table': "7:29: rule rule1: unknown table 'registri'; did you mean 'registry'?",
  'unknown-time-unit': "6:62: rule rule1: unknown time unit 'sec'",
  'unnest-in-where': '6:32: rule rule1: unnest() returns several rows: use it as a whole SELECT column',
  'wrong-table-column': "7:68: rule rule1: table registry has no column 'deviceid'; did you mean r.deviceId? (columns: deviceId, site, maxTemp)",
  'zscore-warm-up-longer-than-window': '6:17: rule rule1: zscore: minSamples (20) cannot exceed n (10)',
}

const tmp = mkdtempSync(join(tmpdir(), 'sql-lint-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

describe('iotd pipeline lint: one clear file:line:col message per malformed or suspicious file', () => {
  it('has a case for every fixture (at least 20)', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort()
    expect(files).toEqual(Object.keys(CASES).sort())
    expect(files.length).toBeGreaterThanOrEqual(20)
  })

  // The lines `iotd pipeline lint` prints for a file's errors: loadPipeline's problems through formatProblem, in
  // process for every fixture (a CLI start costs seconds on a loaded machine) …
  it.each(Object.entries(CASES))('%s', (name, message) => {
    const file = `${DIR}/${name}.yaml`
    let errors: string[] = []
    try {
      loadPipeline(file)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      errors = error.problems.map((p) => formatProblem(p).split('\n')[0])
    }
    expect(errors).toEqual([expect.stringContaining(`${file}:${message}`)])
  })

  // … and through the CLI for a few: exit 1, the same line, no stack trace.
  it.each(['wrong-table-column', 'alias-in-where', 'double-quoted-field', 'unknown-function-by-meaning'])('iotd pipeline lint %s exits 1', async (name) => {
    const file = `${DIR}/${name}.yaml`
    const r = await runCli(['pipeline', 'lint', file])
    expect(r.code).toBe(1)
    const errors = r.stdout.split('\n').filter((l) => l.startsWith(`${file}:`) && !l.includes(': warning: '))
    expect(errors).toEqual([expect.stringContaining(`${file}:${CASES[name]}`)])
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('reports every problem in one pass: a wrong version does not hide a bad source type or an unknown key', async () => {
    const file = join(tmp, 'many.yaml')
    writeFileSync(file, 'version: 2\nsources:\n  s: {type: mqqt, url: "mqtt://127.0.0.1:1883"}\nrules:\n  - sql: SELECT a FROM s\n    sinks: [{type: stdout, formt: ndjson}]\n')
    const r = await runCli(['pipeline', 'lint', file])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`${file}:1:10: version:`)
    expect(r.stdout).toContain(`${file}:3:13: sources.s.type: unknown source type "mqqt"; did you mean "mqtt"?`)
    expect(r.stdout).toContain(`${file}:6:28: rules[0].sinks[0]: unknown key "formt"; did you mean "format"?`)
  })

  it('takes numbers where the docs write numbers: protocol: 5', async () => {
    const file = join(tmp, 'v5.yaml')
    writeFileSync(file, 'version: 1\nsources:\n  s: {type: mqtt, url: "mqtt://127.0.0.1:1883", protocol: 5}\nrules:\n  - sql: SELECT a FROM s\n    sinks: [{type: mqtt, url: "mqtt://127.0.0.1:1883", topic: out, protocol: 5}]\n')
    const r = await runCli(['pipeline', 'lint', file])
    expect(r.stdout).toContain(`${file}: ok`)
    expect(r.code).toBe(0)
  })
})
