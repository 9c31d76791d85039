import {stripVTControlCharacters} from 'node:util'
import {describe, expect, it} from 'vitest'
import {benchVerdicts, bottleneckText, formatBenchSummary, thresholdHeadline} from '../../../src/report/bench-summary.js'
import type {BenchResult} from '../../../src/bench/bench-result.js'
import {e2eResult, histogramOfMicros} from '../../fixtures/report/bench-results.js'

const ESC = '\x1b['
const base = e2eResult()

function withPatch(patch: Partial<BenchResult>): BenchResult {
  return {...base, ...patch}
}

function lineWith(text: string, needle: string): string {
  const line = text.split('\n').find((l) => l.includes(needle))
  if (line === undefined) throw new Error(`no line with ${needle} in\n${text}`)
  return line
}

describe('formatBenchSummary', () => {
  const text = formatBenchSummary(base, {color: false})
  const lines = text.split('\n')

  it('starts with the run, then the verdicts, then the numbers', () => {
    expect(lines[0]).toBe('iotd bench  end-to-end  broker mqtt://127.0.0.1:1883')
    expect(lines[1]).toBe('  MQTT 5, QoS 1, 100 B payloads, 10 publishers, 1 subscriber')
    expect(lines[2]).toBe('  target 10000/s (open model); measured 10s after 2s warm-up')
    expect(lines[3]).toBe('  ✓ all 2 thresholds passed')
    expect(lines[4]).toBe('    ✓ p(99)<20ms  observed 9.1ms')
    expect(lines[5]).toBe('    ✓ loss<0.1%   observed 0%')
    expect(lines[6]).toBe('  ⚠ 50 sends dropped: they could not leave on time and were not sent')
    // 120 late of 99,950 sent (0.12%) is timer jitter: counted in the delivery line, not a warning.
    expect(lines[7]).toBe('')
    expect(text).not.toContain('late by more than one interval')
    const order = ['✓ all', 'throughput', 'latency', 'delivery', 'errors', 'broker', 'client'].map((w) => lines.findIndex((l) => l.startsWith(`  ${w} `)))
    expect(order).toEqual([...order].sort((a, b) => a - b))
    expect(order.every((i) => i >= 0)).toBe(true)
  })

  it('shows target against achieved, and what was received', () => {
    expect(text).toContain('  throughput    target 10,000 msg/s  achieved 9,995 msg/s (100.0% of target)  received 9,995 msg/s')
    expect(text).toContain('99,950 of 100,000 planned messages sent, 99,950 acknowledged, 99,950 received of 99,950 expected')
  })

  it('says over how long the deliveries ran when they trailed the last send', () => {
    // measured window 10 s; the last delivery 2.5 s after it: 99,950 / 12.5 s
    const behind = formatBenchSummary(withPatch({rate: {...base.rate, receivedPerSec: 7996, receivingMs: 12_500}}), {color: false})
    expect(behind).toContain('received 7,996 msg/s over 12.5s (the last delivery 2.5s after the window)')
    const onTime = formatBenchSummary(withPatch({rate: {...base.rate, receivingMs: 10_040}}), {color: false})
    expect(lineWith(onTime, 'throughput')).not.toContain(' over ')
  })

  it('prints the latency spectrum corrected and uncorrected side by side, from the stored summaries', () => {
    const header = lineWith(text, 'corrected  uncorrected')
    expect(header.trim().split(/\s+/)).toEqual(['latency', 'corrected', 'uncorrected', 'ack'])
    const s = base.histograms
    const fmt = (v: number) => (v < 1 ? `${Math.round(v * 1000)}µs` : v < 100 ? `${v.toFixed(1)}ms` : `${Math.round(v)}ms`)
    const p99 = lineWith(text, ' p99 ')
    expect(p99.trim().split(/\s+/)).toEqual(['p99', fmt(s.latency!.summary.p99), fmt(s.uncorrected!.summary.p99), fmt(s.ack!.summary.p99)])
    const p9999 = lineWith(text, 'p99.99')
    expect(p9999.trim().split(/\s+/)[1]).toBe(fmt(s.latency!.summary.p9999))
    expect(lineWith(text, 'samples').trim().split(/\s+/)).toEqual(['samples', '20,000', '20,000', '5,000'])
    // right-aligned: every row of a column ends where its header ends
    const end = (line: string, word: string) => line.indexOf(word) + word.length
    expect(end(p99, fmt(s.uncorrected!.summary.p99))).toBe(end(header, 'uncorrected'))
    for (const row of ['p50', 'p90', 'p99.9', 'max']) expect(lineWith(text, `  ${row} `)).toMatch(/ms|µs/)
  })

  it('shows delivery counts, errors, the broker count and client health', () => {
    expect(text).toContain('  delivery      lost 0  duplicated 0  reordered 0  dropped 50  late 120')
    expect(text).toContain('  errors        0')
    expect(text).toContain('  broker        99,950 received by the broker vs 99,950 sent by the client  (±0.00%)  $SYS/broker/publish/messages/received')
    expect(text).toContain('  client        cpu 65% of 200% (2 cores)  rss 123 MiB  event-loop lag p99 2.4ms')
    expect(text).not.toContain('bottleneck')
  })

  it('has no escape codes without colour, and the same text with them', () => {
    expect(text).not.toContain(ESC)
    const failing = withPatch({thresholds: [{threshold: 'p(99)<5ms', ok: false, observed: 9.1, observedText: '9.1ms', limitText: '5ms'}], counts: {...base.counts, errors: 2}})
    const coloured = formatBenchSummary(failing, {color: true})
    expect(coloured).toContain(ESC)
    expect(stripVTControlCharacters(coloured)).toBe(formatBenchSummary(failing, {color: false}))
  })

  it('leads with the failed thresholds and their observed values', () => {
    const out = formatBenchSummary(
      withPatch({
        thresholds: [
          {threshold: 'p(99)<5ms', ok: false, observed: 9.1, observedText: '9.1ms', limitText: '5ms'},
          {threshold: 'rate>=9000/s', ok: true, observed: 9995, observedText: '9,995/s', limitText: '9000/s'},
          {threshold: 'connect.p(99)<1s', ok: false, observed: null, observedText: 'no samples', limitText: '1s'},
        ],
      }),
      {color: false},
    ).split('\n')
    expect(out[3]).toBe('  ✗ 2 of 3 thresholds failed: p(99)<5ms, connect.p(99)<1s')
    expect(out[4]).toBe('    ✗ p(99)<5ms         observed 9.1ms')
    expect(out[5]).toBe('    ✓ rate>=9000/s      observed 9,995/s')
    expect(out[6]).toBe('    ✗ connect.p(99)<1s  observed no samples')
  })

  it('says so when no thresholds were set', () => {
    expect(formatBenchSummary(withPatch({thresholds: []}), {color: false}).split('\n')[3]).toBe('  no thresholds set')
  })

  it('warns when the broker and the client disagree by more than 1%, and not at 1%', () => {
    const off = withPatch({brokerCount: {source: '$SYS/broker/publish/messages/received', received: 97_000, client: 99_950, disagreementPct: -2.95}})
    const out = formatBenchSummary(off, {color: false})
    expect(out).toContain('  ⚠ the broker counted 97,000 messages received, the client 99,950 sent (-2.95%, more than ±1%)')
    expect(out).toContain('  broker        ⚠ 97,000 received by the broker')
    const close = withPatch({brokerCount: {source: '$SYS', received: 100_949, client: 99_950, disagreementPct: 1}})
    expect(formatBenchSummary(close, {color: false})).not.toContain('⚠ the broker counted')
  })

  it('says n/a for what publish-only runs cannot know, and leads with the ack distribution', () => {
    const pub = withPatch({
      meta: {...base.meta, mode: 'pub', clients: {publishers: 10, subscribers: 0, total: 10}},
      counts: {...base.counts, expected: null, received: null, lost: null, duplicated: null, reordered: null},
      rate: {...base.rate, receivedPerSec: null},
      histograms: {ack: base.histograms.ack},
    })
    const out = formatBenchSummary(pub, {color: false})
    expect(out).toContain('iotd bench  publish-only')
    expect(out).toContain('  delivery      not measured (no receiver in this mode)  dropped 50  late 120')
    expect(out).not.toMatch(/received \d|received of/)
    expect(lineWith(out, '  latency   ').trim().split(/\s+/)).toEqual(['latency', 'ack'])
    expect(out).not.toContain('corrected:')
    // bold (the headline column) only matters with colour; the ack column is it here
    expect(formatBenchSummary(pub, {color: true})).toContain('\x1b[1m')
  })

  it('words a connect run in connections and a saturation run without a target', () => {
    const conn = withPatch({
      meta: {...base.meta, mode: 'conn', clients: {publishers: 0, subscribers: 0, total: 5000}, target: {model: 'saturation', inflight: 1, text: 'max'}},
      rate: {targetPerSec: null, achievedPerSec: 1234.5, receivedPerSec: null},
      counts: {...base.counts, planned: 5000, sent: 5000, acked: 5000, expected: null, received: null, lost: null, duplicated: null, reordered: null, dropped: 0, late: 0},
      histograms: {connect: histogramOfMicros([2000, 3000, 250_000])},
    })
    const out = formatBenchSummary(conn, {color: false})
    expect(out).toContain('  MQTT 5, 5,000 connections')
    expect(out).toContain('saturation (--rate max, 1 in flight per client)')
    expect(out).toContain('  throughput    1,235 conn/s achieved (saturation: no target rate)')
    expect(out).toContain('5,000 of 5,000 planned connections sent, 5,000 accepted')
    expect(lineWith(out, '  max ').trim().split(/\s+/)).toEqual(['max', '250ms'])
  })

  it('a shard shows a threshold it cannot measure (loss) as deferred to the merge, not as failed', () => {
    const thresholds = [
      {threshold: 'p(99)<50ms', ok: true, observed: 4, observedText: '4.0ms', limitText: '50ms'},
      {threshold: 'loss<0.001', ok: false, observed: null, observedText: 'not measured', limitText: '0.001'},
    ]
    const out = formatBenchSummary(withPatch({meta: {...base.meta, shard: {index: 1, count: 3}}, thresholds}), {color: false})
    expect(out).not.toMatch(/✗.*loss<0\.001/)
    expect(out).not.toContain('threshold failed')
    expect(out).toContain('  ✓ the threshold passed')
    expect(out).toContain('    – loss<0.001  not judged here: iotd report merge judges it on the merged shards')
    const onlyLoss = formatBenchSummary(withPatch({meta: {...base.meta, shard: {index: 1, count: 3}}, thresholds: [thresholds[1]]}), {color: false})
    expect(onlyLoss).toContain('  1 threshold deferred to the merge')
    expect(onlyLoss).not.toContain('✗')
    // A whole run that could not measure it still fails it.
    expect(formatBenchSummary(withPatch({thresholds: [thresholds[1]]}), {color: false})).toMatch(/✗ loss<0\.001/)
  })

  it('names a shard as --shard named it, and says a partial merge is partial', () => {
    const shard = formatBenchSummary(withPatch({meta: {...base.meta, shard: {index: 0, count: 3}}}), {color: false})
    expect(shard).toContain('  shard 1/3 of a larger run: merge the shards with iotd report merge (it judges the thresholds)')
    const partial = withPatch({meta: {...base.meta, merge: {results: 2, shards: [0, 2].map((index) => ({index, count: 3})), commonWindowMs: 10_000, missingShards: [{index: 1, count: 3}]}}})
    expect(formatBenchSummary(partial, {color: false})).toContain('  ✗ partial merge: shard 2 of 3 missing; the counts cover only the others and loss is unknown')
  })

  it('words a subscribe-only run by what it heard: no payload size, target or planned sends of its own', () => {
    const sub = withPatch({
      meta: {...base.meta, mode: 'sub', clients: {publishers: 0, subscribers: 2, total: 2}, target: {model: 'saturation', inflight: 100, text: 'max'}},
      counts: {...base.counts, planned: 0, sent: 0, acked: null, dropped: 0, late: 0},
      rate: {targetPerSec: null, achievedPerSec: 0, receivedPerSec: 4321},
    })
    const out = formatBenchSummary(sub, {color: false})
    expect(out).toContain("  MQTT 5, QoS 1, 2 subscribers\n  listening to another publisher's load; measured 10s")
    expect(out).not.toMatch(/payloads|saturation|planned/)
    expect(out).toContain('  throughput    4,321 msg/s received')
  })

  it('shows min, mean and p95 beside the percentiles (k6: avg/min/med/max/p90/p95)', () => {
    const rows = ['min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'p99.99', 'max'].map((r) => lineWith(formatBenchSummary(base, {color: false}), `  ${r} `).trim().split(/\s+/)[0])
    expect(rows).toEqual(['min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'p99.99', 'max'])
    const p95 = lineWith(formatBenchSummary(base, {color: false}), '  p95 ').trim().split(/\s+/)
    expect(p95[1]).toMatch(/ms|µs/)
    // A result written before p95 was recorded shows a dash there.
    const old = withPatch({histograms: {latency: {...base.histograms.latency!, summary: {...base.histograms.latency!.summary, p95: undefined}}}})
    expect(lineWith(formatBenchSummary(old, {color: false}), '  p95 ').trim().split(/\s+/)).toEqual(['p95', '-'])
  })

  it('never prints a password from the broker URL', () => {
    const out = formatBenchSummary(withPatch({meta: {...base.meta, brokers: ['mqtt://bob:hunter2@broker:1883']}}), {color: false})
    expect(out).not.toContain('hunter2')
    expect(out.split('\n')[0]).toContain('mqtt://bob:***@broker:1883')
  })

  it('describes a merged result and warns when its shards did not run together', () => {
    const merged = withPatch({meta: {...base.meta, merge: {results: 3, shards: [0, 1, 2].map((index) => ({index, count: 3})), commonWindowMs: 4000}}})
    const out = formatBenchSummary(merged, {color: false})
    // Shards counted from 1, as --shard 2/3 names them.
    expect(out).toContain('  merged from 3 results (shards 1, 2, 3 of 3); all measuring together for 4s')
    expect(out).toContain('⚠ the merged results measured together for only 4s of 10s: summed rates overstate a run whose shards did not run at once')
    const together = withPatch({meta: {...base.meta, merge: {results: 3, shards: [], commonWindowMs: 9_800}}})
    expect(formatBenchSummary(together, {color: false})).not.toContain('measured together for only')
  })
})

describe('benchVerdicts and the bottleneck line', () => {
  it('is empty for a clean run', () => {
    expect(benchVerdicts(withPatch({counts: {...base.counts, dropped: 0, late: 0}}))).toEqual([])
  })

  it('fails on errors and loss, with the loss as a share of what was expected', () => {
    const v = benchVerdicts(withPatch({counts: {...base.counts, lost: 12, errors: 3, dropped: 0, late: 0}}))
    expect(v).toEqual([
      {level: 'fail', text: '3 client errors (connect, publish or subscribe failures)'},
      {level: 'fail', text: '12 messages lost (0.012% of 99,950 expected)'},
    ])
  })

  it('names the client as the bottleneck when its CPU is near saturation', () => {
    const text = bottleneckText(withPatch({health: {...base.health, cpuPercent: 190, cores: 2}}))
    expect(text).toBe('the client, not the broker, was the bottleneck (CPU 190% of 200% available): these figures describe iotd more than the broker')
    expect(bottleneckText(withPatch({health: {...base.health, cpuPercent: 170, cores: 2}}))).toBeUndefined()
  })

  it('tells the broker pushing back (a full in-flight window) from the client being saturated', () => {
    // 93% of sends late at 11% CPU, the window full a quarter of the time: the broker held back its acknowledgements.
    const pushedBack = withPatch({counts: {...base.counts, late: 93_000, dropped: 0}, health: {...base.health, cpuPercent: 11, inflightFullPct: 25}})
    expect(bottleneckText(pushedBack)).toBe(
      "the broker pushed back (93% of sends late; the in-flight window was full 25% of the time, waiting for acknowledgements; client CPU 11%): the figures are the broker's under this load",
    )
    expect(formatBenchSummary(pushedBack, {color: false})).not.toContain('the client, not the broker')
    // Behind schedule with neither a full window nor a busy client: the connection held the sends back.
    const socket = withPatch({counts: {...base.counts, late: 93_000, dropped: 0}, health: {...base.health, cpuPercent: 11}})
    expect(bottleneckText(socket)).toMatch(/^sends fell behind their schedule \(93% of sends late\) while the client had CPU to spare/)
    // A saturated client is named whatever the window did.
    const busy = withPatch({counts: {...base.counts, late: 93_000}, health: {...base.health, cpuPercent: 195, inflightFullPct: 25}})
    expect(bottleneckText(busy)).toMatch(/^the client, not the broker, was the bottleneck \(CPU 195% of 200% available; 93% of sends late\)/)
  })

  it('names the client as the bottleneck when its event loop lagged, with how far the sends fell behind', () => {
    const behind = withPatch({counts: {...base.counts, planned: 100_000, late: 12_000, dropped: 1_500}, health: {...base.health, eventLoopLagP99Ms: 80}})
    expect(bottleneckText(behind)).toBe(
      'the client, not the broker, was the bottleneck (event-loop lag p99 80.0ms > 50ms; 1.5% of planned sends dropped; 12% of sends late): these figures describe iotd more than the broker',
    )
    expect(formatBenchSummary(behind, {color: false})).toContain('  ⚠ the client, not the broker, was the bottleneck')
    // 50 dropped and 120 late of 100,000 are timer jitter, reported but not blamed
    expect(bottleneckText(base)).toBeUndefined()
    // some late sends (5%) while the average rate held: a warning line, not the bottleneck verdict
    const jitter = withPatch({counts: {...base.counts, planned: 100_000, late: 5_000, dropped: 0}})
    expect(bottleneckText(jitter)).toBeUndefined()
    expect(benchVerdicts(jitter)).toEqual([{level: 'warn', text: '5,000 sends (5.0% of those sent) late by more than one interval: the corrected latency includes that wait'}])
  })

  it('words the drops the saved counts say fell due while the connection was down, and blames nothing for them', () => {
    const lostBroker = withPatch({counts: {...base.counts, planned: 100_000, dropped: 30_000, droppedDown: 29_500}, health: {...base.health, cpuPercent: 11}})
    const text = formatBenchSummary(lostBroker, {color: false})
    expect(text).toContain('  ⚠ 29,500 sends dropped: the broker connection was down when they fell due')
    expect(text).toContain('  ⚠ 500 sends dropped: they could not leave on time and were not sent')
    expect(bottleneckText(lostBroker)).toBeUndefined()
    // An older result has no droppedDown: every drop is one that could not leave on time, as before.
    const old = withPatch({counts: {...base.counts, planned: 100_000, dropped: 30_000}, health: {...base.health, cpuPercent: 11}})
    expect(formatBenchSummary(old, {color: false})).toContain('  ⚠ 30,000 sends dropped: they could not leave on time and were not sent')
    expect(bottleneckText(old)).toMatch(/^sends fell behind their schedule \(30% of planned sends dropped\)/)
  })

  it('leaves out a distribution that stayed empty', () => {
    const out = formatBenchSummary(withPatch({histograms: {...base.histograms, connect: histogramOfMicros([])}}), {color: false})
    expect(lineWith(out, '  latency   ').trim().split(/\s+/)).toEqual(['latency', 'corrected', 'uncorrected', 'ack'])
  })
})

describe('thresholdHeadline', () => {
  it('reads naturally for one threshold and for several', () => {
    const ok = {ok: true}
    const bad = {ok: false}
    expect(thresholdHeadline([ok])).toEqual({ok: true, text: 'the threshold passed'})
    expect(thresholdHeadline([bad])).toEqual({ok: false, text: 'the threshold failed'})
    expect(thresholdHeadline([ok, ok, ok])).toEqual({ok: true, text: 'all 3 thresholds passed'})
    expect(thresholdHeadline([ok, bad, bad])).toEqual({ok: false, text: '2 of 3 thresholds failed'})
  })
})
