import {mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Ajv2020} from 'ajv/dist/2020.js'
import {beforeAll, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'
import {ROOT, runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'

/** `iotd bench` as a user or a CI job runs it: the built CLI, against a private mosquitto. */

const schema = JSON.parse(readFileSync(join(ROOT, 'schemas/bench-result.schema.json'), 'utf8')) as object
const validate = new Ajv2020({allErrors: true, strict: false}).compile(schema)

interface ResultJson {
  counts: {planned: number; sent: number; dropped: number; expected: number | null; received: number | null; lost: number | null}
  thresholds: Array<{threshold: string; ok: boolean; observed: number | null}>
  histograms: {latency?: {summary: {count: number}}}
  meta: {shard?: {index: number; count: number}; clients: {publishers: number; subscribers: number}; startedAt: string}
}

describe('bench profile errors', () => {
  const dir = join(ROOT, 'test/fixtures/bench')
  const files = readdirSync(dir).filter((f) => f.startsWith('bad-'))
  it.each(files)('%s: one file:line:col error, exit 2, no stack trace', async (file) => {
    const path = `test/fixtures/bench/${file}`
    const expectLine = readFileSync(join(dir, file), 'utf8').split('\n')[0]
    const m = /^# expect: (\d+):(\d+) (.+)$/.exec(expectLine)
    if (!m) throw new Error(`${file} has no "# expect: L:C words" line`)
    const r = await runCli(['bench', '--profile', path])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain(`${path}:${m[1]}:${m[2]}: `)
    expect(r.stderr).toContain(m[3])
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})

describeMosquitto('iotd bench on the command line', () => {
  let broker: Mosquitto
  let dir: string
  beforeAll(async () => {
    broker = await startMosquitto()
    dir = mkdtempSync(join(tmpdir(), 'iotd-bench-e2e-'))
  })

  it('a failing threshold exits 99 and names it; --json validates against schemas/bench-result.schema.json', async () => {
    const r = await runCli(['bench', '-b', broker.url, '-r', '1000/s', '-d', '2s', '--threshold', 'p(99)<0.001ms', '--threshold', 'loss<0.01', '--json'])
    expect(r.code).toBe(99)
    const result = JSON.parse(r.stdout) as ResultJson
    expect(validate(result), JSON.stringify(validate.errors)).toBe(true)
    expect(result.thresholds.map((t) => [t.threshold, t.ok])).toEqual([
      ['p(99)<0.001ms', false],
      ['loss<0.01', true],
    ])
    expect(result.counts.sent).toBe(2000)
    expect(result.counts.received).toBe(2000)
  }, 60_000)

  it('piped: one plain line per second on stderr, the summary on stdout, no escape codes; files written', async () => {
    const out = join(dir, 'run.json')
    const hgrm = join(dir, 'run.hgrm')
    const timeline = join(dir, 'run.csv')
    const r = await runCli(['bench', '-b', broker.url, '-r', '2000/s', '-d', '3s', '-q', '1', '--threshold', 'p(99)<5s', '-o', out, '--hgrm', hgrm, '--timeline', timeline])
    expect(r.code).toBe(0)
    expect(r.stdout + r.stderr).not.toContain('\x1b')
    expect(r.stderr.split('\n').filter((l) => l.startsWith('bench ')).length).toBeGreaterThanOrEqual(2)
    expect(r.stdout).toMatch(/^iotd bench {2}end-to-end {2}broker mqtt:\/\/127\.0\.0\.1:\d+/)
    expect(r.stdout).toContain('✓ p(99)<5s')
    const saved = JSON.parse(readFileSync(out, 'utf8')) as ResultJson
    expect(validate(saved)).toBe(true)
    expect(saved.histograms.latency?.summary.count).toBe(6000)
    expect(readFileSync(hgrm, 'utf8')).toMatch(/Value\s+Percentile\s+TotalCount/)
    expect(readFileSync(timeline, 'utf8').split('\n')[0]).toBe('time,elapsed_s,sent_per_s,received_per_s,p50_ms,p99_ms')
  }, 60_000)

  it('a shard records a failed threshold but exits 0 on it: the merge judges the run', async () => {
    const r = await runCli(['bench', '-b', broker.url, '-r', '1000/s', '-d', '1s', '--shard', '1/2', '--threshold', 'p(99)<0.001ms', '--json', '--no-broker-count'])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as ResultJson
    expect(result.thresholds).toMatchObject([{threshold: 'p(99)<0.001ms', ok: false}])
    expect(result.meta.shard).toEqual({index: 0, count: 2})
  }, 60_000)

  it('every bench profile in scenarios/bench runs', async () => {
    for (const [command, profile, extra] of [
      ['bench', 'ci-smoke.yaml', ['--duration', '3s', '--warmup', '1s']],
      ['bench conn', 'connections.yaml', ['--clients', '300', '--duration', '0s']],
      ['bench', 'ramp.yaml', []],
    ] as const) {
      const r = await runCli([...command.split(' '), '--profile', `scenarios/bench/${profile}`, '-b', broker.url, '--json', ...extra], {timeoutMs: 90_000})
      expect([0, 99], `${profile}: ${r.stderr}`).toContain(r.code)
      const result = JSON.parse(r.stdout) as ResultJson
      expect(validate(result)).toBe(true)
      expect(result.counts.sent).toBeGreaterThan(0)
    }
  }, 180_000)

  it('a mode: conn profile takes -d from the command line: the connections are held for it (#13 item 14)', async () => {
    const held = async (extra: string[]) => {
      const r = await runCli(['bench', 'conn', '--profile', 'scenarios/bench/connections.yaml', '-b', broker.url, '--clients', '20', '--rate', '100/s', '--json', ...extra], {timeoutMs: 60_000})
      expect([0, 99], r.stderr).toContain(r.code)
      const result = JSON.parse(r.stdout) as ResultJson & {meta: {startedAt: string; endedAt: string}}
      return Date.parse(result.meta.endedAt) - Date.parse(result.meta.startedAt)
    }
    const profileHold = await held([])
    const flagHold = await held(['-d', '5s'])
    // The profile holds 2 s, the flag 5 s: the difference is the flag's, whatever the connect time on this machine.
    expect(flagHold - profileHold).toBeGreaterThan(2500)
    expect(flagHold).toBeGreaterThanOrEqual(5000)
  }, 120_000)

  it('the Kubernetes Indexed Job in deploy/k8s, run as 3 processes started at one instant, merges into one run of the same work', async () => {
    // The manifest's own arguments, with the broker, load and paths of this test.
    const job = parseYaml(readFileSync(join(ROOT, 'deploy/k8s/bench-indexed-job.yaml'), 'utf8')) as {
      spec: {completionMode: string; completions: number; template: {spec: {containers: Array<{args: string[]; env: Array<{name: string; value?: string}>}>}}}
    }
    expect(job.spec.completionMode).toBe('Indexed')
    // Every shard starts its load at the instant given when the Job is applied (envsubst), which is also the run id.
    expect(job.spec.template.spec.containers[0].env).toContainEqual({name: 'IOTD_START_AT', value: '${START_AT}'})
    // No shard judges thresholds (one shard's exit 99 would fail the Job and the merge would never run).
    expect(job.spec.template.spec.containers[0].args.some((a) => a.startsWith('--threshold'))).toBe(false)
    // Time for three CLI processes to start and connect on a loaded machine; a shard that misses it says so (and fails here).
    const startAt = new Date(Date.now() + 30_000).toISOString()
    const shards = job.spec.completions
    const override: Record<string, string> = {'--broker': broker.url, '--rate': '3000/s', '--duration': '4s', '--warmup': '1s', '--publishers': '6', '--no-broker-count': ''}
    const baseArgs = job.spec.template.spec.containers[0].args
      // Latency SLOs are the cluster's business; on a shared test machine only loss is judged.
      .filter((a) => !a.startsWith('--out=') && !a.startsWith('--threshold=p('))
      .map((a) => {
        const name = a.split('=')[0]
        return name in override ? `${name}=${override[name]}` : a
      })
    expect(baseArgs).toContain(`--shards=${shards}`)
    const files = Array.from({length: shards}, (_, i) => join(dir, `shard-${i}.json`))
    const runs = await Promise.all(
      files.map((file, i) => runCli([...baseArgs, '--no-broker-count', `--out=${file}`], {env: {JOB_COMPLETION_INDEX: String(i), IOTD_START_AT: startAt}, timeoutMs: 90_000})),
    )
    for (const r of runs) expect(r.code, r.stderr).toBe(0)
    const results = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as ResultJson)
    expect(results.map((s) => s.meta.shard)).toEqual(files.map((_, index) => ({index, count: shards})))
    // Each shard owns 2 of the 6 publishers and 1 of the 3 subscribers, and a third of the 9,000 measured messages;
    // its subscriber hears every shard's 9,000, as a subscriber of one run of 6 publishers would.
    // (A loaded machine may drop a few sends; they are counted, and what was sent is what is heard.)
    const sentInAll = results.reduce((n, s) => n + s.counts.sent, 0)
    for (const s of results) {
      expect(s.meta.clients).toMatchObject({publishers: 2, subscribers: 1})
      expect(s.meta.startedAt).toBe(startAt)
      expect(s.counts.sent + s.counts.dropped).toBe(3000)
      expect(s.counts.received).toBe(sentInAll)
      expect(s.counts.expected).toBeNull()
    }
    // A shard missing is refused; with --allow-partial it merges, loudly.
    const partial = await runCli(['report', 'merge', files[0], files[2], '--out', join(dir, 'partial.json')])
    expect(partial.code).toBe(2)
    expect(partial.stderr).toContain('shard 2 of 3 missing')
    const allowed = await runCli(['report', 'merge', files[0], files[2], '--allow-partial', '--out', join(dir, 'partial.json')])
    expect(allowed.code, allowed.stderr).toBe(0)
    expect(allowed.stderr).toContain('⚠ shard 2 of 3 missing')
    expect(allowed.stdout).toContain('✗ partial merge')
    // The merge Job's command, run here: one run of 6 publishers and 3 subscribers, 9,000 messages each heard 3 times.
    const merged = join(dir, 'merged.json')
    const m = await runCli(['report', 'merge', ...files, '--out', merged, '--threshold', 'loss<0.001'])
    expect(m.code, m.stderr).toBe(0)
    const result = JSON.parse(readFileSync(merged, 'utf8')) as ResultJson
    expect(result.counts.sent).toBe(sentInAll)
    expect(result.counts.sent + result.counts.dropped).toBe(9000)
    expect(result.counts.expected).toBe(3 * sentInAll)
    expect(result.counts.received).toBe(3 * sentInAll)
    expect(result.counts.lost).toBe(0)
    expect(result.histograms.latency?.summary.count).toBe(3 * sentInAll)
    const html = await runCli(['report', 'html', merged, '--out', join(dir, 'report.html')])
    expect(html.code, html.stderr).toBe(0)
  }, 180_000)
})
