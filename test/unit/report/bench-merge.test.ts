import {describe, expect, it} from 'vitest'
import {ConfigError, UsageError} from '../../../src/errors.js'
import {mergeResults} from '../../../src/report/bench-merge.js'
import {encodedHistogram, parseBenchResult, summarizeMs, toJson, type BenchResult, type TimelinePoint} from '../../../src/bench/bench-result.js'
import {createHistogram, mergeEncoded, recordMicros, type LatencyHistogram} from '../../../src/metrics/histogram.js'
import {seededRandom} from '../../helpers/seeded-random.js'

const T0 = Date.parse('2026-11-02T10:00:00.000Z')

function encode(h: LatencyHistogram) {
  const out = encodedHistogram(h)
  h.destroy()
  return out
}

function histogramOf(values: readonly number[]) {
  const h = createHistogram()
  for (const v of values) recordMicros(h, v)
  return encode(h)
}

/** One shard's result; `index` shifts its clock a little, as separate processes would be. */
function shard(index: number, count: number, patch: Partial<BenchResult> = {}): BenchResult {
  const start = T0 + index * 300
  return {
    schemaVersion: 1,
    meta: {
      tool: {name: 'iotd', version: '0.1.0'},
      commandLine: ['bench', '--rate', '3000/s', '--shard', `${index}/${count}`],
      brokers: ['mqtt://broker:1883'],
      mode: 'e2e',
      mqttVersion: '5',
      qos: 1,
      payloadBytes: 100,
      clients: {publishers: 4, subscribers: 1, total: 5},
      target: {model: 'open', ratePerSec: 1000, text: '3000/s'},
      shard: {index, count},
      startedAt: new Date(start).toISOString(),
      endedAt: new Date(start + 12_000).toISOString(),
      warmupMs: 2000,
    },
    counts: {planned: 10_000, sent: 9_000 + index, acked: 9_000, expected: 9_000, received: 8_990, lost: 10, duplicated: index, reordered: 1, dropped: 5, late: 2, errors: index},
    rate: {targetPerSec: 1000, achievedPerSec: 900 + index, receivedPerSec: 899},
    brokerCount: {source: '$SYS/broker/publish/messages/received', received: 27_000, client: 9_000, disagreementPct: 200},
    health: {cpuPercent: 50 + 10 * index, rssBytes: 100_000_000 + index, eventLoopLagP99Ms: 3 - index, cores: 2},
    thresholds: [{threshold: 'p(99)<20ms', ok: true, observed: 4, observedText: '4.0ms', limitText: '20ms'}],
    timeline: [],
    histograms: {},
    ...patch,
  }
}

describe('mergeResults: histograms', () => {
  it('gives exactly the counts and percentiles of one histogram of all the samples (300k, long tail, 3 shards)', () => {
    const random = seededRandom(42)
    const all = createHistogram()
    const parts = [createHistogram(), createHistogram(), createHistogram()]
    for (let i = 0; i < 300_000; i++) {
      // Pareto-like: most below a millisecond, a tail out to seconds.
      const micros = 300 / Math.pow(1 - random(), 0.7)
      recordMicros(all, micros)
      recordMicros(parts[Math.floor(random() * 3)], micros)
    }
    const expected = summarizeMs(all)
    all.destroy()
    const results = parts.map((h, i) => shard(i, 3, {histograms: {latency: encode(h)}}))

    const merged = mergeResults(results)

    expect(expected.count).toBe(300_000)
    expect(expected.p9999).toBeGreaterThan(100)
    expect(expected.max).toBeGreaterThan(500)
    expect(expected.max).toBeLessThan(60_000)
    expect(merged.histograms.latency?.summary).toEqual(expected)
    // The re-encoded histogram holds the same distribution, so a later merge stays exact.
    const again = mergeEncoded(merged.histograms.latency?.encoded ?? '')
    expect(again.totalCount).toBe(300_000)
    expect(again.getValueAtPercentile(99.99) / 1000).toBe(expected.p9999)
    again.destroy()
  })

  it('merges every distribution present and leaves absent ones absent', () => {
    const a = shard(0, 2, {histograms: {latency: histogramOf([1000, 2000]), ack: histogramOf([300])}})
    const b = shard(1, 2, {histograms: {latency: histogramOf([3000]), ack: histogramOf([500, 700])}})
    const merged = mergeResults([a, b])
    expect(merged.histograms.latency?.summary.count).toBe(3)
    expect(merged.histograms.latency?.summary.max).toBe(3)
    expect(merged.histograms.ack?.summary).toMatchObject({count: 3, min: 0.3, max: 0.7})
    expect(merged.histograms.connect).toBeUndefined()
    expect(merged.histograms.uncorrected).toBeUndefined()
  })

  it('names the file whose histogram cannot be decoded', () => {
    const a = shard(0, 2, {histograms: {latency: histogramOf([1000])}})
    const b = shard(1, 2, {histograms: {latency: {encoded: 'AAAA', summary: histogramOf([1]).summary}}})
    expect(() => mergeResults([a, b], {labels: ['a.json', 'b.json']})).toThrow(ConfigError)
    expect(() => mergeResults([a, b], {labels: ['a.json', 'b.json']})).toThrow(/^b\.json: histograms\.latency\.encoded is not a readable HDR histogram/)
  })
})

describe('mergeResults: counts, rates, meta', () => {
  it('sums counts and rates', () => {
    const merged = mergeResults([shard(0, 3), shard(1, 3), shard(2, 3)])
    expect(merged.counts).toEqual({planned: 30_000, sent: 27_003, acked: 27_000, expected: 27_000, received: 26_970, lost: 30, duplicated: 3, reordered: 3, dropped: 15, late: 6, errors: 3})
    // Received as one run computes it: 26,970 over the merged window (12.6 s from the first start, 2 s warm-up out).
    expect(merged.rate).toEqual({targetPerSec: 3000, achievedPerSec: 2703, receivedPerSec: 26_970 / 10.6, receivingMs: 10_600})
  })

  it('sums the sends dropped while the connection was down, an older shard without the count as 0', () => {
    const withDown = (index: number, droppedDown?: number) => {
      const r = shard(index, 3)
      return {...r, counts: {...r.counts, droppedDown}}
    }
    const merged = mergeResults([withDown(0, 4), withDown(1), withDown(2, 3)])
    expect(merged.counts.droppedDown).toBe(7)
    expect(merged.counts.dropped).toBe(15)
    expect(mergeResults([shard(0, 2), shard(1, 2)]).counts.droppedDown).toBeUndefined()
  })

  it('the received rate of shards of which only one had a subscriber is the run\'s, not unknown', () => {
    const noReceiver = {expected: null, received: null, lost: null, duplicated: null, reordered: null}
    const withoutSub = (i: number) => shard(i, 3, {counts: {...shard(i, 3).counts, ...noReceiver}, rate: {targetPerSec: 1000, achievedPerSec: 900, receivedPerSec: null}})
    const receiver = shard(0, 3, {rate: {targetPerSec: 1000, achievedPerSec: 900, receivedPerSec: 899, receivingMs: 11_000}})
    const merged = mergeResults([receiver, withoutSub(1), withoutSub(2)])
    expect(merged.rate.receivedPerSec).toBe(8_990 / 11)
    expect(merged.rate.receivingMs).toBe(11_000)
  })

  it('keeps the delivery counts of the shards that had a subscriber when another had none', () => {
    const noReceiver = {expected: null, received: null, lost: null, duplicated: null, reordered: null}
    const lonely = shard(2, 3, {counts: {...shard(2, 3).counts, ...noReceiver}})
    const merged = mergeResults([shard(0, 3), shard(1, 3), lonely])
    expect(merged.counts).toMatchObject({sent: 27_003, expected: 18_000, received: 17_980, lost: 20, duplicated: 1, reordered: 2})
  })

  it("works out loss over the whole run from shards whose subscribers counted every shard's messages", () => {
    // 3 shards, one subscriber each, 9,000 messages sent in all: each subscriber was to receive all 9,000.
    const counts = (i: number, received: number, duplicated: number) => ({
      ...shard(i, 3).counts,
      sent: 3000,
      expected: null,
      lost: null,
      received,
      duplicated,
    })
    const merged = mergeResults([shard(0, 3, {counts: counts(0, 9000, 0)}), shard(1, 3, {counts: counts(1, 8990, 0)}), shard(2, 3, {counts: counts(2, 9002, 4)})])
    // distinct = 26,992 - 4 = 26,988 of 27,000
    expect(merged.counts).toMatchObject({sent: 9000, expected: 27_000, received: 26_992, duplicated: 4, lost: 12})
  })

  it('records the shards, the span and the window all shards measured together', () => {
    const merged = mergeResults([shard(2, 3), shard(0, 3), shard(1, 3)])
    expect(merged.meta.shard).toBeUndefined()
    expect(merged.meta.merge).toEqual({
      results: 3,
      shards: [
        {index: 0, count: 3},
        {index: 1, count: 3},
        {index: 2, count: 3},
      ],
      // Measuring from T0+600+2000 (the last shard's warm-up end) to T0+12000 (the first shard's end).
      commonWindowMs: 9_400,
    })
    expect(merged.meta.startedAt).toBe(new Date(T0).toISOString())
    expect(merged.meta.endedAt).toBe(new Date(T0 + 12_600).toISOString())
    expect(merged.meta.warmupMs).toBe(2000)
    expect(merged.meta.clients).toEqual({publishers: 12, subscribers: 3, total: 15})
    expect(merged.meta.target).toEqual({model: 'open', ratePerSec: 3000, text: '3000/s'})
  })

  it('keeps the busiest shard health, compares the widest $SYS window with every shard sends, drops the thresholds to re-evaluate', () => {
    const broker = (received: number) => ({brokerCount: {source: '$SYS/broker/publish/messages/received', received, client: 9000, disagreementPct: null}})
    const merged = mergeResults([shard(0, 3, broker(27_000)), shard(1, 3, broker(26_400)), shard(2, 3, broker(26_900))])
    expect(merged.health).toEqual({cpuPercent: 70, cores: 2, rssBytes: 100_000_002, eventLoopLagP99Ms: 3})
    expect(merged.brokerCount).toEqual({source: '$SYS/broker/publish/messages/received', received: 27_000, client: 27_000, disagreementPct: 0})
    expect(merged.thresholds).toEqual([])
    // A shard without the broker's count leaves the run without one.
    expect(mergeResults([shard(0, 2, broker(18_000)), shard(1, 2, {brokerCount: null})]).brokerCount).toBeNull()
  })

  it('judges CPU against each shard own cores', () => {
    const small = shard(0, 2, {health: {cpuPercent: 190, rssBytes: 1, eventLoopLagP99Ms: 1, cores: 2}})
    const big = shard(1, 2, {health: {cpuPercent: 300, rssBytes: 1, eventLoopLagP99Ms: 1, cores: 16}})
    expect(mergeResults([big, small]).health).toMatchObject({cpuPercent: 190, cores: 2})
  })

  it('sums stage rates of the same schedule', () => {
    const staged = (i: number) =>
      shard(i, 2, {meta: {...shard(i, 2).meta, target: {model: 'open', ratePerSec: 500, text: '30s:500/s', stages: [{durationMs: 30_000, ratePerSec: 250}, {durationMs: 60_000, ratePerSec: 500}]}}})
    expect(mergeResults([staged(0), staged(1)]).meta.target).toEqual({
      model: 'open',
      ratePerSec: 1000,
      text: '30s:500/s',
      stages: [
        {durationMs: 30_000, ratePerSec: 500},
        {durationMs: 60_000, ratePerSec: 1000},
      ],
    })
  })

  it('merges merged results again, keeping track of the shards', () => {
    const first = mergeResults([shard(0, 4), shard(1, 4)], {allowPartial: true})
    const second = mergeResults([shard(2, 4), shard(3, 4)], {allowPartial: true})
    expect(first.meta.merge?.missingShards).toEqual([
      {index: 2, count: 4},
      {index: 3, count: 4},
    ])
    const all = mergeResults([first, second])
    expect(all.meta.merge?.missingShards).toBeUndefined()
    expect(all.meta.merge?.results).toBe(4)
    expect(all.meta.merge?.shards.map((s) => s.index)).toEqual([0, 1, 2, 3])
    expect(all.counts.sent).toBe(9000 * 4 + 0 + 1 + 2 + 3)
    expect(() => mergeResults([first, shard(1, 4)])).toThrow('shard 2/4 appears in both result 1 and result 2')
  })

  it('writes a result that reads back', () => {
    // Shard 1's counts as a run writes them: 8,990 received with 1 duplicate leaves 11 of 9,000 missing.
    const one = shard(1, 2)
    const merged = mergeResults([shard(0, 2, {histograms: {latency: histogramOf([1000])}}), {...one, counts: {...one.counts, lost: 11}}])
    expect(parseBenchResult(toJson(merged), 'merged.json')).toEqual(merged)
  })
})

describe('mergeResults: refusals', () => {
  it('refuses results of different mode, QoS, payload size, MQTT version or load model', () => {
    const base = shard(0, 2)
    const other = (meta: Partial<BenchResult['meta']>) => shard(1, 2, {meta: {...shard(1, 2).meta, ...meta}})
    const labels = {labels: ['a.json', 'b.json']}
    expect(() => mergeResults([base, other({mode: 'pub'})], labels)).toThrow('cannot merge b.json (mode pub) with a.json (mode e2e)')
    expect(() => mergeResults([base, other({qos: 0})], labels)).toThrow('cannot merge b.json (QoS 0) with a.json (QoS 1)')
    expect(() => mergeResults([base, other({payloadBytes: 1024})], labels)).toThrow('(payload size 1024 B) with a.json (payload size 100 B)')
    expect(() => mergeResults([base, other({mqttVersion: '3.1.1'})], labels)).toThrow('MQTT version')
    expect(() => mergeResults([base, other({target: {model: 'saturation', inflight: 10, text: 'max'}})], labels)).toThrow('load model')
    expect(() => mergeResults([base, other({qos: 2})], labels)).toThrow(UsageError)
  })

  it('refuses the same shard twice, shards of runs of different sizes, and nothing at all', () => {
    expect(() => mergeResults([shard(1, 3), shard(1, 3)], {labels: ['x.json', 'y.json']})).toThrow('shard 2/3 appears in both x.json and y.json')
    expect(() => mergeResults([shard(0, 3), shard(1, 2)])).toThrow('they come from different runs')
    expect(() => mergeResults([])).toThrow('nothing to merge')
  })

  it('refuses results of different runs, and warns about results that cannot be checked', () => {
    const of = (i: number, runId?: string) => shard(i, 2, {meta: {...shard(i, 2).meta, runId}})
    expect(() => mergeResults([of(0, 'run-a'), of(1, 'run-b')], {labels: ['a.json', 'b.json']})).toThrow(
      'cannot merge b.json (run run-b) with a.json (run run-a): they are results of different runs',
    )
    expect(mergeResults([of(0, 'run-a'), of(1, 'run-a')]).meta.runId).toBe('run-a')
    const warnings: string[] = []
    expect(mergeResults([of(0, 'run-a'), of(1)], {onWarning: (w) => warnings.push(w)}).meta.runId).toBe('run-a')
    expect(warnings).toEqual(['1 of 2 results carry no run id (written by an older iotd): they cannot be checked to be of run run-a'])
  })

  it('refuses a set with a shard missing, unless allowed: then says so and marks the result', () => {
    expect(() => mergeResults([shard(0, 3), shard(2, 3)])).toThrow('shard 2 of 3 missing: a merge without it is not the run')
    expect(() => mergeResults([shard(0, 3)])).toThrow('shards 2, 3 of 3 missing: a merge without them is not the run')
    const warnings: string[] = []
    const partial = mergeResults([shard(0, 3), shard(2, 3)], {allowPartial: true, onWarning: (w) => warnings.push(w)})
    expect(warnings.some((w) => w.startsWith('shard 2 of 3 missing: the merged result covers only 2 of 3 shards'))).toBe(true)
    expect(partial.meta.merge?.missingShards).toEqual([{index: 1, count: 3}])
    expect(partial.brokerCount).toBeNull()
  })

  it('refuses stages of different durations', () => {
    const staged = (i: number, seconds: number) =>
      shard(i, 2, {meta: {...shard(i, 2).meta, target: {model: 'open', ratePerSec: 500, text: 'x', stages: [{durationMs: seconds * 1000, ratePerSec: 500}]}}})
    expect(() => mergeResults([staged(0, 30), staged(1, 40)])).toThrow('rate stages have different durations')
  })
})

describe('mergeResults: timelines', () => {
  const point = (t: number, sentPerSec: number, latenciesUs?: number[], receivedPerSec: number | null = sentPerSec): TimelinePoint => ({
    t,
    sentPerSec,
    receivedPerSec,
    p50: null,
    p99: null,
    ...(latenciesUs ? {histogram: histogramOf(latenciesUs).encoded} : {}),
  })

  it('aligns points by wall-clock second and sums their rates', () => {
    const a = shard(0, 2, {timeline: [point(T0, 100), point(T0 + 1000, 110), point(T0 + 2000, 120)]})
    // 400 ms later: still the same seconds.
    const b = shard(1, 2, {timeline: [point(T0 + 400, 10), point(T0 + 1400, 20, undefined, null)]})
    const merged = mergeResults([a, b]).timeline
    expect(merged.map((p) => p.t)).toEqual([T0, T0 + 1000, T0 + 2000])
    expect(merged.map((p) => p.sentPerSec)).toEqual([110, 130, 120])
    // b has no received column (no subscriber): a's deliveries are the run's.
    expect(merged.map((p) => p.receivedPerSec)).toEqual([110, 110, 120])
  })

  it('recomputes interval percentiles where every point carries its histogram, and marks them absent otherwise', () => {
    const lowA = [1000, 1000, 1000, 1000]
    const highB = [9000, 9000, 9000, 9000, 9000]
    const a = shard(0, 2, {timeline: [point(T0, 4, lowA), point(T0 + 1000, 4, lowA)]})
    const b = shard(1, 2, {timeline: [point(T0 + 300, 5, highB), point(T0 + 1300, 5)]})
    const [first, second] = mergeResults([a, b]).timeline

    const reference = createHistogram()
    for (const v of [...lowA, ...highB]) recordMicros(reference, v)
    expect(first.p50).toBe(reference.getValueAtPercentile(50) / 1000)
    expect(first.p99).toBe(reference.getValueAtPercentile(99) / 1000)
    expect(first.p50).toBeGreaterThan(8.9)
    reference.destroy()
    expect(mergeEncoded(first.histogram ?? '').totalCount).toBe(9)

    expect(second.p50).toBeNull()
    expect(second.p99).toBeNull()
    expect(second.histogram).toBeUndefined()
  })

  it('adds up the rows of one second: each holds what happened in it, so the merged rows sum to the merged counts', () => {
    const a = shard(0, 2, {timeline: [point(T0 + 2100, 100), point(T0 + 3100, 300)]})
    const b = shard(1, 2, {timeline: [point(T0 + 2000, 50), point(T0 + 3000, 70)]})
    const merged = mergeResults([a, b]).timeline
    expect(merged.map((p) => p.sentPerSec)).toEqual([150, 370])
    expect(merged.reduce((s, p) => s + p.sentPerSec, 0)).toBe(100 + 300 + 50 + 70)
  })
})
