/**
 * Issue #16, acceptance 2: one test per numbered problem of the issue, each through the pipeline loader and the
 * real runtime (as `iotd pipeline run`/`lint`/`test` use them). Each failed before the change it names.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ConfigError} from '../../../src/errors.js'
import {loadPipeline, loadTestFile, runPipelineTest, type PipelineTest} from '../../../src/pipeline/index.js'
import {pipelineTestSchema} from '../../../src/pipeline/config/schema.js'

const dir = mkdtempSync(join(tmpdir(), 'sql-issue16-'))

function pipeline(body: string, name = 'p.yaml') {
  const file = join(dir, name)
  writeFileSync(file, `version: 1\nsources:\n  s: {type: stdin}\n${body}`)
  return loadPipeline(file)
}

/** Runs `sql` over `input` and returns the rows (and failures, which the caller may assert empty). */
async function rows(sql: string, input: Record<string, unknown>[], extra: Partial<PipelineTest> = {}) {
  const p = pipeline(`rules:\n  - {name: r, sql: ${JSON.stringify(sql)}}\n`)
  const test = pipelineTestSchema.parse({name: 't', input, expect: [], ...extra})
  const r = await runPipelineTest(p, test, p.file)
  return r.rows
}

function lintProblems(body: string, source = '{type: stdin}'): string[] {
  try {
    const file = join(dir, 'lint.yaml')
    writeFileSync(file, `version: 1\nsources:\n  s: ${source}\n${body}`)
    loadPipeline(file)
    return []
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return error.problems.map((p) => `${p.line}:${p.col}: ${p.message.split('\n')[0]}`)
  }
}

describe('issue #16: an eKuiper rule gives eKuiper\'s rows', () => {
  it('1. analytic functions step on every row, before WHERE and CASE (no short-circuit)', async () => {
    const input = [{id: 'd0', temperature: 20, humidity: 40}, {id: 'd1', temperature: 35, humidity: 50}]
    expect(await rows('SELECT id, lag(humidity) AS prev FROM s WHERE temperature > 30 AND lag(humidity) > 0', input)).toEqual([{id: 'd1', prev: 40}])
    expect(await rows('SELECT CASE WHEN temperature > 30 THEN lag(humidity) END AS r FROM s', input)).toEqual([{r: 40}])
    // OVER (PARTITION BY … WHEN …): the state moves only on rows the WHEN admits.
    const when = await rows('SELECT lag(v) OVER (PARTITION BY k WHEN ok) AS p, v FROM s', [
      {k: 'a', v: 1, ok: true}, {k: 'a', v: 2, ok: false}, {k: 'a', v: 3, ok: true}, {k: 'b', v: 9, ok: true},
    ])
    expect(when).toEqual([{v: 1}, {p: 1, v: 2}, {p: 1, v: 3}, {v: 9}])
  })

  it('2. zscore(x, n [, minSamples]) is null until enough samples (default: a full window)', async () => {
    const input = [10, 12, 10, 12, 10, 30].map((v) => ({v}))
    const full = await rows('SELECT zscore(v, 5) AS z, v FROM s', input)
    expect(full.slice(0, 5).every((r) => r.z === undefined)).toBe(true)
    expect(full[5].z).toBeCloseTo((30 - 10.8) / Math.sqrt(1.2), 10)
    const early = await rows('SELECT zscore(v, 5, 3) AS z FROM s', input)
    expect(early.map((r) => (typeof r.z === 'number' ? 'z' : '-'))).toEqual(['z', 'z', 'z'])
  })

  it('3. "…" is a string (split_value(meta(topic), "/", 1)); a double-quoted field name is a lint error', async () => {
    expect(await rows('SELECT split_value(meta(topic), "/", 1) AS dev FROM s', [{_topic: 'plant/d7/telemetry', t: 1}])).toEqual([{dev: 'd7'}])
    const problems = lintProblems('rules:\n  - sql: SELECT "temp" AS t FROM s WHERE temp > 30\n')
    expect(problems).toEqual([expect.stringMatching(/^5:17: rule rule1: "temp" is a string in eKuiper SQL, not the field temp: write temp/)])
  })

  it('4. SELECT * … GROUP BY TUMBLINGWINDOW emits every row of each window', async () => {
    const out = await rows('SELECT * FROM s GROUP BY TUMBLINGWINDOW(ss, 10)', [{_ts: 1000, v: 1}, {_ts: 2000, v: 2}, {_ts: 11_000, v: 3}])
    expect(out).toEqual([{v: 1}, {v: 2}, {v: 3}])
  })

  it('5. the functions that were refused plan and run', async () => {
    const sql = [
      'SELECT mqtt(topic) AS t, latest(v) AS l, isNull(x) AS n, array_contains(a, 2) AS c, a[0:2] AS sl, acc_avg(v) AS av,',
      'changed_col(true, v) AS ch, lag(v) OVER (PARTITION BY k WHEN v > 0) AS lg FROM s',
    ].join(' ')
    expect(await rows(sql, [{_topic: 'x/y', v: 4, a: [1, 2, 3], k: 'a'}])).toEqual([{t: 'x/y', l: 4, n: true, c: true, sl: [1, 2], av: 4, ch: 4}])
    expect(await rows('SELECT * EXCEPT(a) FROM s', [{a: 1, b: 2}])).toEqual([{b: 2}])
    expect(await rows('SELECT unnest(a) AS v FROM s', [{a: [1, 2]}])).toEqual([{v: 1}, {v: 2}])
    const windowed = await rows('SELECT var(v) AS v1, stddev(v) AS sd, collect(*) AS all, deduplicate(v, true) AS d FROM s GROUP BY TUMBLINGWINDOW(ss, 10)', [
      {_ts: 1, v: 1}, {_ts: 2, v: 3}, {_ts: 3, v: 3},
    ])
    expect(windowed).toEqual([{v1: 8 / 9, sd: Math.sqrt(8 / 9), all: [{v: 1}, {v: 3}, {v: 3}], d: [{v: 1}, {v: 3}]}])
    // Did-you-mean by meaning and by a length-aware edit distance: no more mqtt -> sqrt or var -> lag.
    expect(lintProblems('rules:\n  - sql: SELECT stdev(v) FROM s GROUP BY TUMBLINGWINDOW(ss, 1)\n')[0]).toContain('did you mean stddev()?')
    expect(lintProblems('rules:\n  - sql: SELECT topic() AS t FROM s\n')[0]).toContain('did you mean meta(topic)?')
  })

  it('6. silent no-ops are refused: LIMIT without a window, an alias in WHERE, a table column that does not exist', () => {
    writeFileSync(join(dir, 'devices.csv'), 'deviceId,site\nd1,north\n')
    expect(lintProblems('rules:\n  - sql: SELECT v FROM s LIMIT 5\n')).toEqual([expect.stringMatching(/^5:26: .*LIMIT needs a window/)])
    expect(lintProblems('rules:\n  - sql: SELECT v * 2 AS dbl FROM s WHERE dbl > 3\n')).toEqual([
      expect.stringMatching(/^5:43: .*'dbl' is an alias from the SELECT list; WHERE runs before SELECT/),
    ])
    expect(lintProblems('tables: {devices: {file: devices.csv}}\nrules:\n  - sql: SELECT r.site FROM s JOIN devices r ON s.id = r.deviceid\n')).toEqual([
      expect.stringMatching(/^6:56: .*table devices has no column 'deviceid'; did you mean r\.deviceId\? \(columns: deviceId, site\)/),
    ])
  })

  it('7. a source states its time format (epoch-s, epoch-us, iso, a pattern); a format that cannot be read is a lint error', async () => {
    const run = async (timestamp: string, input: Record<string, unknown>[], extra: Partial<PipelineTest> = {}) => {
      const file = join(dir, 'time.yaml')
      writeFileSync(file, `version: 1\nsources:\n  s: {type: stdin, timestamp: ${timestamp}}\nrules:\n  - {name: r, sql: "SELECT count(*) AS n, window_start() AS ws FROM s GROUP BY TUMBLINGWINDOW(ss, 10)"}\n`)
      const p = loadPipeline(file)
      return runPipelineTest(p, pipelineTestSchema.parse({name: 't', input, expect: [], ...extra}), p.file)
    }
    // 2026-01-01T00:00:00Z in each format: a window of that day, not of January 1970.
    const day = 1_767_225_600
    expect((await run('{field: ts, format: epoch-s}', [{ts: day + 1}, {ts: day + 2.5}])).rows).toEqual([{n: 2, ws: day * 1000}])
    expect((await run('{field: ts, format: epoch-us}', [{ts: (day + 1) * 1e6}])).rows).toEqual([{n: 1, ws: day * 1000}])
    expect((await run('{field: t, format: iso}', [{t: '2026-01-01T00:00:03'}, {t: '2026-01-01 00:00:04Z'}])).rows).toEqual([{n: 2, ws: day * 1000}])
    expect((await run("{field: t, format: 'DD.MM.YYYY HH:mm:ss'}", [{t: '01.01.2026 00:00:05'}])).rows).toEqual([{n: 1, ws: day * 1000}])
    // The plain field stays as it was: numbers are epoch ms.
    expect((await run('ts', [{ts: day * 1000 + 7}])).rows).toEqual([{n: 1, ws: day * 1000}])
    // A value that is not a time in the stated format is dead-lettered with the format in the reason.
    const bad = await run('{field: ts, format: iso}', [{ts: day}], {deadLetter: {count: 1, entries: [{stage: 'source:s', reason: '= 1767225600 is not a time in format iso'}]}})
    expect(bad.failures).toEqual([])
    expect(lintProblems('rules: [{sql: SELECT * FROM s}]\n', '{type: stdin, timestamp: {field: ts, format: epoch-sec}}')).toEqual([
      expect.stringMatching(/^3:\d+: sources\.s\.timestamp\.format: time format "epoch-sec" needs at least YYYY, MM and DD .*; did you mean "epoch-s"\?$/),
    ])
  })

  it('9. pipeline test: tolerance and checks, dead-letter assertions, table overrides, env, input files, a bare list', async () => {
    writeFileSync(join(dir, 'reg.csv'), 'id,site\na,north\n')
    writeFileSync(join(dir, 'events.jsonl'), '{"id":"a","v":84.4812}\n{"id":"b","v":null}\n')
    const p = pipeline(
      `tables: {reg: {file: reg.csv}}\nrules:\n  - {name: r, sql: "SELECT s.id, r.site, v FROM s LEFT JOIN reg r ON s.id = r.id", reject: "v IS NULL"}\n`,
      'p9.yaml',
    )
    const file = join(dir, 'p9.test.yaml')
    writeFileSync(
      file,
      `- name: approximately, from a file, with its table replaced
  inputFile: events.jsonl
  tables: {reg: [{id: a, site: south}]}
  expect: [{id: a, site: {$matches: "^so"}, v: {$near: [84.48, 0.01]}}]
  deadLetter: {count: 1, entries: [{reason: "v IS NULL", fields: {id: b, v: null}}]}
`,
    )
    const tests = loadTestFile(file)
    const r = await runPipelineTest(p, tests[0], file)
    expect(r.failures).toEqual([])
    const wrong = await runPipelineTest(p, {...tests[0], deadLetter: {count: 2}}, file)
    expect(wrong.failures).toEqual(['dead letter: expected 2 entries, got 1'])
  })

  it('9. pipeline test: advance: 30s fires a window without events; sinks: checks the mqtt topic and the postgres key, and says what differs', async () => {
    const file = join(dir, 'advance.yaml')
    writeFileSync(
      file,
      `version: 1
sources:
  s: {type: stdin, timestamp: ts}
rules:
  - name: r
    sql: SELECT deviceId, count(*) AS n FROM s GROUP BY deviceId, TUMBLINGWINDOW(ss, 10)
    sinks:
      - {type: mqtt, url: 'mqtt://127.0.0.1:1883', topic: 'plant/\${deviceId}/count'}
      - {type: postgres, url: 'postgres://127.0.0.1:5432/test', table: counts, key: [deviceId]}
`,
    )
    const p = loadPipeline(file)
    const test = (extra: Record<string, unknown>) =>
      runPipelineTest(p, pipelineTestSchema.parse({name: 't', endOfInput: false, input: [{deviceId: 'd1', ts: 1000}, {deviceId: 'd2', ts: 2000}, {advance: '30s'}, {deviceId: 'd1'}], ...extra}), file)
    const ok = await test({expect: [{deviceId: 'd1', n: 1}, {deviceId: 'd2', n: 1}], sinks: {'r.mqtt': [{topic: 'plant/d1/count'}, {topic: 'plant/d2/count'}], 'r.postgres': [{key: {deviceId: 'd1'}}, {key: {deviceId: 'd2'}}]}})
    expect(ok.failures).toEqual([])
    const bad = await test({expect: [{deviceId: 'd1', n: 1}, {deviceId: 'd2', n: 1}], sinks: {'r.mqtt': [{topic: 'plant/d1/count'}, {topic: 'plant/d3/count'}], 'r.mqt': []}})
    expect(bad.failures).toEqual([
      'sinks.r.mqtt row 2: topic "plant/d2/count", expected "plant/d3/count"',
      'sinks.r.mqt: rule r has no sink of that name; did you mean r.mqtt? (its sinks: r.mqtt, r.postgres)',
    ])
  })

  it('11. smaller differences: aliases in later columns, nulls left out, lag skips nulls, population stddev, cast "bigint", round(x, -3)', async () => {
    expect(await rows('SELECT v + 1 AS s1, s1 + 1 AS s2, cast(t, "bigint") AS b, round(big, -3) AS r, missing AS m FROM s', [{v: 1, t: '42', big: 12_345.6}])).toEqual([
      {s1: 2, s2: 3, b: 42, r: 12_000},
    ])
    expect(await rows('SELECT lag(t) AS p, n FROM s', [{t: 1, n: 1}, {n: 2}, {t: 3, n: 3}])).toEqual([{n: 1}, {p: 1, n: 2}, {p: 1, n: 3}])
  })
})
