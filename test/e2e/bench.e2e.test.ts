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
  counts: {planned: number; sent: number; expected: number | null; received: number | null; lost: number | null}
  thresholds: Array<{threshold: string; ok: boolean; observed: number | null}>
  histograms: {latency?: {summary: {count: number}}}
  meta: {shard?: {index: number; count: number}; clients: {publishers: number; subscribers: number}}
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

  it('the Kubernetes Indexed Job in deploy/k8s, run as 3 processes, merges into one result with every count summed', async () => {
    // The manifest's own arguments, with the broker, load and paths of this test.
    const job = parseYaml(readFileSync(join(ROOT, 'deploy/k8s/bench-indexed-job.yaml'), 'utf8')) as {
      spec: {completionMode: string; completions: number; template: {spec: {containers: Array<{args: string[]}>}}}
    }
    expect(job.spec.completionMode).toBe('Indexed')
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
      files.map((file, i) => runCli([...baseArgs, '--no-broker-count', `--out=${file}`], {env: {JOB_COMPLETION_INDEX: String(i)}, timeoutMs: 90_000})),
    )
    for (const r of runs) expect(r.code, r.stderr).toBe(0)
    const results = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as ResultJson)
    expect(results.map((s) => s.meta.shard)).toEqual(files.map((_, index) => ({index, count: shards})))
    // Each shard owns 2 of the 6 publishers and 1 of the 3 subscribers, and a third of the 9,000 measured messages.
    for (const s of results) {
      expect(s.meta.clients).toMatchObject({publishers: 2, subscribers: 1})
      expect(s.counts.sent).toBe(3000)
      expect(s.counts.received).toBe(3000)
    }
    // The merge Job's command, run here.
    const merged = join(dir, 'merged.json')
    const m = await runCli(['report', 'merge', ...files, '--out', merged])
    expect(m.code, m.stderr).toBe(0)
    const result = JSON.parse(readFileSync(merged, 'utf8')) as ResultJson
    expect(result.counts.sent).toBe(9000)
    expect(result.counts.received).toBe(9000)
    expect(result.counts.lost).toBe(0)
    expect(result.histograms.latency?.summary.count).toBe(9000)
    const html = await runCli(['report', 'html', merged, '--out', join(dir, 'report.html')])
    expect(html.code, html.stderr).toBe(0)
  }, 120_000)
})
