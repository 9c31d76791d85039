/**
 * `iotd pipeline` as a user runs it: the shipped examples, the exit codes, stdin in a shell pipe, Ctrl-C with a
 * partial summary, lint/explain/test output.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT, RUN, runCli} from '../helpers/cli.js'
import {pgAvailable, pgQuery, uniqueTable} from '../integration/pipeline/pg-helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-pipe-e2e-'))

/** Runs the CLI with text on stdin. */
function runWithStdin(args: string[], input: string): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args], {cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: {...process.env, FORCE_COLOR: undefined}})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr}))
    child.stdin.end(input)
  })
}

describe('shipped examples', () => {
  it('overheat-alerts prints a table of readings above each device limit', async () => {
    const r = await runCli(['pipeline', 'run', 'scenarios/pipelines/overheat-alerts.yaml', '--quiet'])
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^deviceId\s+line\s+temperature\s+threshold\s+at$/)
    expect(lines.length).toBeGreaterThan(10)
    for (const l of lines.slice(1)) {
      const [, , t, limit] = l.split(/\s+/)
      expect(Number(t)).toBeGreaterThan(Number(limit))
    }
    expect(r.stderr).toMatch(/pipeline overheat-alerts: end of input .* 3,600 events/)
  })

  it('silent-meters names the silent meters and their concentrators', async () => {
    const r = await runCli(['pipeline', 'run', 'scenarios/pipelines/silent-meters.yaml', '--quiet'])
    expect(r.code, r.stderr).toBe(0)
    const rows = r.stdout.trim().split('\n').slice(1)
    expect(rows.length).toBeGreaterThan(0)
    for (const row of rows) expect(row).toMatch(/^meter-\d{3}\s+conc-\d{2}\s/)
  })

  it('anomaly-quarantine quarantines spikes and dead-letters malformed and out-of-range input with reasons', async () => {
    const deadLetter = join(dir, 'quarantine.dead.jsonl')
    const r = await runCli(['pipeline', 'run', 'scenarios/pipelines/anomaly-quarantine.yaml', '--json'], {env: {QUARANTINE_DEAD_LETTER: deadLetter}})
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.slice(r.stdout.indexOf('{\n  "schemaVersion"')))
    expect(summary.sources[0].deadLettered).toBe(2)
    expect(summary.rules[0].rejected).toBeGreaterThanOrEqual(1)
    const entries = readFileSync(deadLetter, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    expect(entries.filter((e) => e.stage === 'source:readings').map((e) => e.reason)).toEqual([
      expect.stringMatching(/line 402: not JSON/),
      expect.stringMatching(/line 903: not JSON/),
    ])
    expect(entries.some((e) => e.stage === 'rule:quarantine' && /temperature IS NULL/.test(e.reason) && e.record.fields.temperature === undefined)).toBe(true)
    expect(summary.deadLetter.count).toBe(entries.length)
  })

  it('five-minute-rollup stores 72 windows in PostgreSQL, once even when run twice', async (ctx) => {
    if (!(await pgAvailable())) {
      if (process.env.CI === 'true') throw new Error('PostgreSQL is required under CI=true')
      ctx.skip()
    }
    const table = uniqueTable('rollup_e2e')
    try {
      for (let i = 0; i < 2; i++) {
        const r = await runCli(['pipeline', 'run', 'scenarios/pipelines/five-minute-rollup.yaml', '--quiet'], {env: {ROLLUP_TABLE: table}})
        expect(r.code, r.stderr).toBe(0)
        expect(r.stdout.trim().split('\n')).toHaveLength(73)
      }
      const [{n, readings}] = await pgQuery<{n: string; readings: string}>(`SELECT count(*) AS n, sum(readings) AS readings FROM "${table}"`)
      expect(Number(n)).toBe(72)
      expect(Number(readings)).toBe(21_600)
    } finally {
      await pgQuery(`DROP TABLE IF EXISTS "${table}"`)
    }
  })

  it('pipeline test runs every shipped example test and the window-semantics files', async () => {
    const r = await runCli(['pipeline', 'test', 'scenarios/pipelines'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m)
    const w = await runCli(['pipeline', 'test', 'test/unit/pipeline/window-semantics'])
    expect(w.code, w.stdout).toBe(0)
    expect(w.stdout).toMatch(/^2\d passed, 0 failed$/m)
  })
})

describe('exit codes and errors', () => {
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'version: 1\nsources:\n  s: {type: stdin}\nrules:\n  - sql: SELECT a FROM s WHERE temp >\n')

  it('run: a bad file is one located line, exit 2, no stack trace', async () => {
    const r = await runCli(['pipeline', 'run', bad])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`${bad}:5:38: rule rule1: expected an expression after '>', found end of input`)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('lint: the same problem, exit 1; a good file says ok', async () => {
    const r = await runCli(['pipeline', 'lint', bad])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`${bad}:5:38:`)
    const ok = await runCli(['pipeline', 'lint', 'scenarios/pipelines/overheat-alerts.yaml'])
    expect(ok.code, ok.stdout + ok.stderr).toBe(0)
    expect(ok.stdout).toContain('scenarios/pipelines/overheat-alerts.yaml: ok')
  })

  it('lint warns where eKuiper differs, and --strict fails on warnings', async () => {
    const r = await runCli(['pipeline', 'lint', 'scenarios/pipelines/silent-meters.yaml'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/warning: rule silent: eKuiper difference: session windows are per GROUP BY key/)
    expect((await runCli(['pipeline', 'lint', 'scenarios/pipelines/silent-meters.yaml', '--strict'])).code).toBe(1)
  })

  it('test: a failing expectation prints the difference and exits 1', async () => {
    const file = join(dir, 'failing.yaml')
    writeFileSync(
      file,
      `version: 1
sources: {s: {type: stdin}}
rules: [{sql: "SELECT v * 2 AS d FROM s", sinks: [{type: stdout}]}]
tests:
  - name: doubles
    input: [{v: 1}, {v: 2}]
    expect: [{d: 2}, {d: 5}]
`,
    )
    const r = await runCli(['pipeline', 'test', file])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('row 2: expected {"d":5}, got {"d":4}')
    expect(r.stdout).toMatch(/^0 passed, 1 failed$/m)
  })
})

describe('run', () => {
  it('reads NDJSON on stdin, windows it, and flushes at EOF', async () => {
    const file = join(dir, 'stdin.yaml')
    writeFileSync(
      file,
      `version: 1
sources: {s: {type: stdin, timestamp: ts}}
rules:
  - sql: SELECT dev, count(*) AS c, avg(v) AS a FROM s GROUP BY dev, TUMBLINGWINDOW(ss, 10)
    sinks: [{type: stdout}]
`,
    )
    const input = [
      {ts: 1000, dev: 'a', v: 1},
      {ts: 2000, dev: 'a', v: 3},
      {ts: 11000, dev: 'b', v: 5},
    ]
      .map((e) => JSON.stringify(e))
      .concat(['garbage'])
      .join('\n')
    const r = await runWithStdin(['pipeline', 'run', file, '--quiet'], input)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      {dev: 'a', c: 2, a: 2},
      {dev: 'b', c: 1, a: 5},
    ])
    expect(r.stderr).toMatch(/stdin line 4: not JSON/)
  })

  it('Ctrl-C stops the sources, flushes windows, prints the partial summary and exits 130', async () => {
    const file = join(dir, 'live.yaml')
    writeFileSync(
      file,
      `version: 1
sources:
  plant: {type: sim, scenario: ${join(ROOT, 'scenarios/pipelines/sims/press-line.yaml')}, clock: real, duration: 1h}
rules:
  - sql: SELECT deviceId, count(*) AS n FROM plant GROUP BY deviceId, TUMBLINGWINDOW(hh, 1)
    sinks: [{type: stdout}]
`,
    )
    const r = await runCli(['pipeline', 'run', file], {
      timeoutMs: 30_000,
      onOutput: {match: /in \d+ \(/, then: (pid) => process.kill(pid, 'SIGINT')},
    })
    expect(r.code).toBe(130)
    expect(r.stderr).toMatch(/pipeline live: interrupted \(partial summary\)/)
    // The open hourly windows were flushed: one row per press that had reported.
    const rows = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((x) => /^press-\d\d$/.test(x.deviceId) && x.n >= 1)).toBe(true)
  })

  it('list names every source, sink and function', async () => {
    const r = await runCli(['pipeline', 'list', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const listed = JSON.parse(r.stdout) as {sources: {type: string}[]; sinks: {type: string}[]; functions: {name: string}[]}
    expect(listed.sources.map((x) => x.type)).toEqual(expect.arrayContaining(['mqtt', 'csv', 'stdin', 'file', 'sim']))
    expect(listed.sinks.map((x) => x.type)).toEqual(expect.arrayContaining(['stdout', 'file', 'mqtt', 'http', 'postgres']))
    expect(listed.functions.map((f) => f.name)).toEqual(expect.arrayContaining(['zscore', 'lag', 'percentile', 'window_start']))
  })

  it('--dry-run and explain print the plan without reading input', async () => {
    const r = await runCli(['pipeline', 'explain', 'scenarios/pipelines/five-minute-rollup.yaml'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('window    tumbling 5m, keyed by deviceId; event time')
    expect(r.stdout).toContain('rollup.postgres (postgres, batches of up to 500 or every 1s)')
    const d = await runCli(['pipeline', 'run', 'scenarios/pipelines/overheat-alerts.yaml', '--dry-run'])
    expect(d.code, d.stderr).toBe(0)
    expect(d.stdout).toContain('join      LEFT JOIN devices AS d ON s.deviceId = d.deviceId')
    expect(d.stdout).toContain('no input read (--dry-run)')
  })
})
