import {mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseBenchResult, summarizeMs, toJson, type BenchResult} from '../../src/bench/bench-result.js'
import {parseHgrm} from '../../src/report/hgrm.js'
import {createHistogram, mergeEncoded, recordMicros} from '../../src/metrics/histogram.js'
import {runCli} from '../helpers/cli.js'
import {seededRandom} from '../helpers/seeded-random.js'
import {e2eResult, histogramOfMicros, T0, timeline} from '../fixtures/report/bench-results.js'

/** The built CLI (bin/run.js) on result files made here with real HDR histograms of seeded samples. */

const dir = mkdtempSync(join(tmpdir(), 'iotd-report-e2e-'))
const file = (name: string) => join(dir, name)
const ESC = '\x1b['

const SAMPLES = 90_000
let allSamples: number[] = []

function write(name: string, result: BenchResult): string {
  writeFileSync(file(name), toJson(result))
  return file(name)
}

beforeAll(() => {
  // Three shards of one run: every sample goes to one shard at random; a long tail to seconds.
  const random = seededRandom(2026)
  const parts: number[][] = [[], [], []]
  allSamples = []
  for (let i = 0; i < SAMPLES; i++) {
    const micros = 250 / Math.pow(1 - random(), 0.75)
    allSamples.push(micros)
    parts[Math.floor(random() * 3)].push(micros)
  }
  parts.forEach((samples, index) => {
    const base = e2eResult({}, index + 10)
    write(
      `shard-${index}.json`,
      e2eResult({
        meta: {...base.meta, shard: {index, count: 3}, clients: {publishers: 4, subscribers: 1, total: 5}},
        counts: {...base.counts, sent: samples.length, received: samples.length, expected: samples.length, acked: samples.length, planned: 30_000},
        rate: {targetPerSec: 3000, achievedPerSec: samples.length / 10, receivedPerSec: samples.length / 10},
        thresholds: [{threshold: 'p(99)<1ms', ok: true, observed: 0.9, observedText: '0.9ms', limitText: '1ms'}],
        timeline: timeline({seconds: 10, ratePerSec: 3000, seed: index + 1, startMs: T0 + index * 40}),
        histograms: {latency: histogramOfMicros(samples), uncorrected: histogramOfMicros(samples.map((v) => v / 2))},
      }),
    )
  })
  write('a.json', e2eResult({}, 1))
  write('b.json', e2eResult({rate: {targetPerSec: 10_000, achievedPerSec: 9_000, receivedPerSec: 9_000}}, 1))
})

afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('iotd report merge', () => {
  it('of 3 shards equals one histogram of the same samples: counts and percentiles exact', async () => {
    const r = await runCli(['report', 'merge', file('shard-0.json'), file('shard-1.json'), file('shard-2.json'), '--out', file('merged.json')])
    const merged = parseBenchResult(readFileSync(file('merged.json'), 'utf8'), 'merged.json')

    const all = createHistogram()
    for (const v of allSamples) recordMicros(all, v)
    const decoded = mergeEncoded(merged.histograms.latency!.encoded)
    expect(decoded.totalCount).toBe(SAMPLES)
    for (const p of [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100]) {
      expect(decoded.getValueAtPercentile(p), `p${p}`).toBe(all.getValueAtPercentile(p))
    }
    expect(merged.histograms.latency!.summary).toEqual(summarizeMs(all))
    expect(merged.histograms.uncorrected!.summary.count).toBe(SAMPLES)
    decoded.destroy()

    expect(merged.counts.sent).toBe(SAMPLES)
    expect(merged.counts.planned).toBe(90_000)
    expect(merged.meta.merge?.shards.map((s) => s.index)).toEqual([0, 1, 2])
    expect(merged.meta.clients.total).toBe(15)
    expect(merged.timeline).toHaveLength(10)
    expect(merged.timeline[0].sentPerSec).toBeGreaterThan(8900)

    // The shards claim p(99)<1ms passed; merge judges that threshold again on the merged distribution (p99 ≈ 7.9ms).
    const p99 = all.getValueAtPercentile(99) / 1000
    expect(p99).toBeGreaterThan(1)
    expect(merged.thresholds).toEqual([expect.objectContaining({threshold: 'p(99)<1ms', observed: p99, ok: false})])
    expect(r.code).toBe(99)
    expect(r.stdout).toContain('✗ the threshold failed: p(99)<1ms')
    all.destroy()

    expect(r.stderr).toContain(`merged 3 results -> ${file('merged.json')}`)
    // Shards counted from 1, as --shard names them.
    expect(r.stdout).toContain('merged from 3 results (shards 1, 2, 3 of 3)')
    expect(r.stdout).toContain('samples')
  })

  it('writes the merged result to stdout without --out, judged by --threshold when given', async () => {
    const r = await runCli(['report', 'merge', file('shard-0.json'), file('shard-1.json'), file('shard-2.json'), '--threshold', 'p(50)<1s', '--threshold', 'loss==0'])
    expect(r.code).toBe(0)
    const merged = parseBenchResult(r.stdout, 'stdout')
    expect(merged.thresholds.map((v) => [v.threshold, v.ok])).toEqual([
      ['p(50)<1s', true],
      ['loss==0', true],
    ])
    expect(merged.counts.sent).toBe(SAMPLES)
  })

  it('refuses a shard twice and a file named twice, exit 2', async () => {
    const twice = await runCli(['report', 'merge', file('shard-0.json'), file('shard-0.json')])
    expect(twice.code).toBe(2)
    expect(twice.stderr).toContain('is named twice')
    const copy = file('shard-0-copy.json')
    writeFileSync(copy, readFileSync(file('shard-0.json')))
    const dup = await runCli(['report', 'merge', file('shard-0.json'), copy])
    expect(dup.code).toBe(2)
    expect(dup.stderr).toContain('shard 1/3 appears in both')
    expect(dup.stdout).toBe('')
  })
})

describe('iotd report show', () => {
  it('prints the summary without escape codes when piped, and writes .hgrm and timeline files', async () => {
    const r = await runCli(['report', 'show', file('a.json'), '--hgrm', file('a.hgrm'), '--timeline', file('a.csv')])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain(ESC)
    expect(r.stdout.split('\n')[0]).toBe('iotd bench  end-to-end  broker mqtt://127.0.0.1:1883')
    expect(r.stdout).toContain('  ✓ all 2 thresholds passed')
    expect(r.stdout).toMatch(/ {4}p99 +12\.2ms +9\.7ms +4\.2ms/)
    const rows = parseHgrm(readFileSync(file('a.hgrm'), 'utf8'))
    expect(rows.at(-1)!.totalCount).toBe(20_000)
    expect(readFileSync(file('a.csv'), 'utf8').split('\n')[0]).toBe('time,elapsed_s,sent_per_s,received_per_s,p50_ms,p99_ms')
  })

  it('--json prints the result itself; --threshold judges it and exits 99 on a failure', async () => {
    const json = await runCli(['report', 'show', file('a.json'), '--json'])
    expect(json.code).toBe(0)
    expect(json.stdout).toBe(readFileSync(file('a.json'), 'utf8'))
    const judged = await runCli(['report', 'show', file('a.json'), '--threshold', 'p(99)<5ms', '--threshold', 'rate>=9000/s'])
    expect(judged.code).toBe(99)
    expect(judged.stdout).toContain('✗ 1 of 2 thresholds failed: p(99)<5ms')
    expect(judged.stdout).toMatch(/✗ p\(99\)<5ms +observed 12\.2ms/)
  })

  it('a malformed result is a usage error naming file:line:col, with no stack trace', async () => {
    writeFileSync(file('bad.json'), '{\n  "schemaVersion": 1,\n  "meta": {\n')
    const r = await runCli(['report', 'show', file('bad.json')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(new RegExp(`${file('bad.json').replace(/[.]/g, '\\.')}:\\d+:\\d+: not valid JSON`))
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('refuses a result file over the result cap, or a large one that is no JSON object, before reading it (exit 2)', async () => {
    const huge = file('huge.json')
    writeFileSync(huge, '{')
    truncateSync(huge, 600 * 1024 * 1024) // sparse: no 600 MiB written
    const big = await runCli(['report', 'show', huge])
    expect(big.code, big.stderr).toBe(2)
    expect(big.stderr).toContain(`${huge}: the file is 600.0 MiB, larger than the 512.0 MiB a bench result may be`)
    expect(big.stderr).not.toContain('config file')
    rmSync(huge)
    const blank = file('blank.json')
    writeFileSync(blank, ' '.repeat(4 * 1024 * 1024))
    const spaces = await runCli(['report', 'show', blank])
    expect(spaces.code, spaces.stderr).toBe(2)
    expect(spaces.stderr).toContain(`${blank}: not an iotd bench result: its first 64 KiB are whitespace`)
    const html = file('page.json')
    writeFileSync(html, `<html>${'x'.repeat(100_000)}</html>`)
    const page = await runCli(['report', 'html', html, '--out', file('page.html')])
    expect(page.code, page.stderr).toBe(2)
    expect(page.stderr).toContain(`${html}:1:1: not an iotd bench result: it begins with "<html>`)
  })

  it('refuses a histogram cut short and counts that cannot both be true, as report merge does (exit 2)', async () => {
    const good = e2eResult({}, 1)
    const latency = good.histograms.latency!
    const cut = write('cut.json', {...good, histograms: {...good.histograms, latency: {...latency, encoded: latency.encoded.slice(0, latency.encoded.length / 2)}}})
    for (const command of [['show'], ['html', '--out', file('cut.html')], ['merge']]) {
      const r = await runCli(['report', ...command, cut])
      expect(r.code, `${command[0]}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(new RegExp(`${cut.replace(/[.]/g, '\\.')}:\\d+:\\d+: histograms\\.latency\\.encoded is not a readable HDR histogram`))
      expect(r.stdout).not.toContain('p99')
    }
    const more = write('more.json', {...good, counts: {...good.counts, expected: 25_000, received: 99_999, lost: 0}})
    const shown = await runCli(['report', 'show', more])
    expect(shown.code, shown.stderr).toBe(2)
    expect(shown.stderr).toContain('counts do not add up: 99,999 received of 25,000 expected, lost 0')
    const fewer = write('fewer.json', {...good, counts: {...good.counts, expected: 25_000, received: 20_000, lost: 0}})
    const lost = await runCli(['report', 'show', fewer])
    expect(lost.code, lost.stderr).toBe(2)
    expect(lost.stderr).toContain('counts do not add up: lost 0, but 20,000 received of 25,000 expected leaves 5,000 missing')
  })
})

describe('iotd report compare', () => {
  it('exits 99 on a regression beyond the tolerance, 0 within it', async () => {
    const r = await runCli(['report', 'compare', file('a.json'), file('b.json'), '--tolerance', '5%'])
    expect(r.code).toBe(99)
    expect(r.stdout).toContain('✗ 1 regression beyond 5%: throughput (-10.0%)')
    expect(r.stdout).toMatch(/throughput +9,995\/s +9,000\/s +-995\/s +-10\.0% +regression/)
    const ok = await runCli(['report', 'compare', file('a.json'), file('b.json'), '--tolerance', '15'])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain('✓ no regression beyond 15%')
  })

  it('--json carries the rows and regressions; --threshold judges the candidate', async () => {
    const r = await runCli(['report', 'compare', file('a.json'), file('b.json'), '--tolerance', '20%', '--metric', 'throughput', '--metric', 'latency.p99', '--threshold', 'rate>=9500/s', '--json'])
    expect(r.code).toBe(99)
    const report = JSON.parse(r.stdout)
    expect(report.regressions).toEqual([])
    expect(report.rows.map((row: {metric: string; verdict: string}) => `${row.metric}:${row.verdict}`)).toEqual(['throughput:within', 'latency.p99:within'])
    expect(report.thresholds).toEqual([expect.objectContaining({threshold: 'rate>=9500/s', ok: false, observed: 9000})])
  })

  it('a bad tolerance is a usage error', async () => {
    const r = await runCli(['report', 'compare', file('a.json'), file('b.json'), '--tolerance', 'lots'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--tolerance 'lots': expected a percentage")
  })
})

describe('iotd report html', () => {
  it('writes one self-contained file with a series per run', async () => {
    const r = await runCli(['report', 'html', file('a.json'), file('b.json'), '--out', file('report.html')])
    expect(r.code).toBe(0)
    const html = readFileSync(file('report.html'), 'utf8')
    expect(html).toContain('<title>iotd bench: a vs b</title>')
    expect((html.match(/<g class="series" data-label="[^"]*" data-points="\d+" data-run="a" data-distribution="latency"/g) ?? []).length).toBe(1)
    expect(html).not.toMatch(/<script|\s(src|href)=/)
  })
})
