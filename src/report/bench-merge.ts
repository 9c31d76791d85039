import {LATENCY_DISTRIBUTIONS, type LatencyDistribution} from '../metrics/observation.js'
import {ConfigError, UsageError} from '../errors.js'
import {
  BENCH_RESULT_SCHEMA_VERSION,
  summarizeMs,
  type BenchClientHealth,
  type BenchCounts,
  type BenchHistograms,
  type BenchMeta,
  type BenchResult,
  type BenchShard,
  type BenchTarget,
  type EncodedHistogram,
  type TimelinePoint,
} from '../bench/bench-result.js'
import {encodeHistogram, mergeEncoded, type LatencyHistogram} from '../metrics/histogram.js'

/**
 * `iotd report merge`: combines the results of shards (`--shard i/n`, Kubernetes Indexed Jobs, several machines)
 * into one result, losslessly where the data allows it:
 *
 * - histograms are added bucket by bucket (decode, add, re-encode), so every percentile of the merged result is
 *   exactly the one a single histogram of all the samples gives. min and max come from the shards' summaries,
 *   which hold the exact values (the encoded form keeps them only to bucket precision);
 * - counts are summed; a count one shard could not measure (null) makes the total null, never a partial sum;
 * - rates are summed: each shard's rate over its own measured window. That is the rate of the whole run when the
 *   shards ran together; `meta.merge.commonWindowMs` says how long they all measured at once, so a caller can warn
 *   when they did not;
 * - timelines are aligned by wall-clock second (each point to the nearest second from the earliest point) and
 *   their rates summed. Percentiles of an interval cannot be summed: they are recomputed when every point in that
 *   second carries its interval histogram, and are null otherwise;
 * - client health is the busiest shard's (highest CPU share of its cores), with the worst event-loop lag and the
 *   largest RSS of any shard: a bottleneck in any one shard limits the whole run;
 * - the broker's $SYS count is dropped (null): each shard read the whole broker's counter over its own window, so
 *   the shards' figures overlap and cannot be added;
 * - threshold verdicts are dropped (empty): they must be evaluated again against the merged figures, which is the
 *   caller's job (the shards' threshold texts are in their `thresholds[].threshold`).
 *
 * Results of different modes, QoS, payload sizes, MQTT versions or load models are refused, as is the same shard
 * twice (merging a file with itself would double every count).
 */

export interface MergeOptions {
  /** Names of the results (usually their files), for error messages; default `result 1`, `result 2`, ... */
  labels?: readonly string[]
}

export function mergeResults(results: readonly BenchResult[], options: MergeOptions = {}): BenchResult {
  if (results.length === 0) throw new UsageError('nothing to merge: give one or more bench result files')
  const label = (i: number) => options.labels?.[i] ?? `result ${i + 1}`
  checkCompatible(results, label)
  const shards = mergedShards(results, label)
  return {
    schemaVersion: BENCH_RESULT_SCHEMA_VERSION,
    meta: mergeMeta(results, shards, label),
    counts: mergeCounts(results.map((r) => r.counts)),
    rate: {
      targetPerSec: sumOrNull(results.map((r) => r.rate.targetPerSec)),
      achievedPerSec: sum(results.map((r) => r.rate.achievedPerSec)),
      receivedPerSec: sumOrNull(results.map((r) => r.rate.receivedPerSec)),
      // The shards' deliveries ran until the slowest one's last arrival.
      receivingMs: results.some((r) => r.rate.receivingMs === undefined) ? undefined : Math.max(...results.map((r) => r.rate.receivingMs as number)),
    },
    brokerCount: null,
    health: mergeHealth(results.map((r) => r.health)),
    thresholds: [],
    timeline: mergeTimelines(results.map((r) => r.timeline)),
    histograms: mergeHistogramSets(results.map((r) => r.histograms), label),
  }
}

// ---- compatibility ------------------------------------------------------------------------------------------------

const MUST_MATCH: ReadonlyArray<{name: string; of: (m: BenchMeta) => string | number}> = [
  {name: 'mode', of: (m) => m.mode},
  {name: 'QoS', of: (m) => m.qos},
  {name: 'payload size', of: (m) => `${m.payloadBytes} B`},
  {name: 'MQTT version', of: (m) => m.mqttVersion},
  {name: 'load model', of: (m) => m.target.model},
]

function checkCompatible(results: readonly BenchResult[], label: (i: number) => string): void {
  const first = results[0].meta
  for (const [i, r] of results.entries()) {
    for (const field of MUST_MATCH) {
      const mine = field.of(r.meta)
      const theirs = field.of(first)
      if (mine !== theirs) {
        throw new UsageError(`cannot merge ${label(i)} (${field.name} ${mine}) with ${label(0)} (${field.name} ${theirs}): shards of one run share their ${field.name}`, [
          'merge only the shards of one run; use iotd report compare to set different runs side by side',
        ])
      }
    }
  }
}

/** Every shard the inputs cover (a merged input contributes the shards it was made of), checked for repeats. */
function mergedShards(results: readonly BenchResult[], label: (i: number) => string): BenchShard[] {
  const seen = new Map<number, number>()
  let shardCount: number | undefined
  let countFrom = 0
  const out: BenchShard[] = []
  for (const [i, r] of results.entries()) {
    const own = r.meta.merge ? r.meta.merge.shards : r.meta.shard ? [r.meta.shard] : []
    for (const shard of own) {
      if (shardCount !== undefined && shard.count !== shardCount) {
        throw new UsageError(`cannot merge ${label(i)} (shard ${shard.index}/${shard.count}) with ${label(countFrom)} (a run of ${shardCount} shards): they come from different runs`)
      }
      shardCount = shard.count
      countFrom = i
      const previous = seen.get(shard.index)
      if (previous !== undefined) {
        throw new UsageError(`shard ${shard.index}/${shard.count} appears in both ${label(previous)} and ${label(i)}: merging it twice would double its counts`)
      }
      seen.set(shard.index, i)
      out.push({index: shard.index, count: shard.count})
    }
  }
  return out.sort((a, b) => a.index - b.index)
}

// ---- meta ---------------------------------------------------------------------------------------------------------

function mergeMeta(results: readonly BenchResult[], shards: BenchShard[], label: (i: number) => string): BenchMeta {
  const metas = results.map((r) => r.meta)
  const first = metas[0]
  const starts = metas.map((m) => Date.parse(m.startedAt))
  const ends = metas.map((m) => Date.parse(m.endedAt))
  const measuredStarts = metas.map((m, i) => starts[i] + m.warmupMs)
  const start = Math.min(...starts)
  const measuredStart = Math.min(...measuredStarts)
  const merged: BenchMeta = {
    tool: {name: 'iotd', version: unique(metas.map((m) => m.tool.version)).join(', ')},
    commandLine: first.commandLine,
    brokers: unique(metas.flatMap((m) => m.brokers)),
    mode: first.mode,
    mqttVersion: first.mqttVersion,
    qos: first.qos,
    payloadBytes: first.payloadBytes,
    clients: {
      publishers: sum(metas.map((m) => m.clients.publishers)),
      subscribers: sum(metas.map((m) => m.clients.subscribers)),
      total: sum(metas.map((m) => m.clients.total)),
    },
    target: mergeTargets(metas.map((m) => m.target), label),
    merge: {
      results: sum(metas.map((m) => m.merge?.results ?? 1)),
      shards,
      commonWindowMs: Math.max(0, Math.min(...ends) - Math.max(...measuredStarts)),
    },
    startedAt: new Date(start).toISOString(),
    endedAt: new Date(Math.max(...ends)).toISOString(),
    // Chosen so that the merged measured window runs from the first shard's measuring start to the last end.
    warmupMs: measuredStart - start,
  }
  if (first.profile !== undefined) merged.profile = first.profile
  return merged
}

/** Shards split the rate, so the shares add up; stages must be the same schedule in every shard. */
function mergeTargets(targets: readonly BenchTarget[], label: (i: number) => string): BenchTarget {
  const first = targets[0]
  if (first.model === 'saturation') return first
  const open = targets.filter((t): t is Extract<BenchTarget, {model: 'open'}> => t.model === 'open')
  const merged: BenchTarget = {model: 'open', ratePerSec: sum(open.map((t) => t.ratePerSec)), text: first.text}
  if (first.stages) {
    const schedule = (t: (typeof open)[number]) => (t.stages ?? []).map((s) => s.durationMs).join(',')
    const differing = open.findIndex((t) => schedule(t) !== schedule(first))
    if (differing >= 0) {
      throw new UsageError(`cannot merge ${label(differing)} with ${label(0)}: their rate stages have different durations, so they are not shards of one run`)
    }
    merged.stages = first.stages.map((s, k) => ({durationMs: s.durationMs, ratePerSec: sum(open.map((t) => t.stages?.[k].ratePerSec ?? 0))}))
  }
  return merged
}

// ---- counts and health --------------------------------------------------------------------------------------------

function mergeCounts(all: readonly BenchCounts[]): BenchCounts {
  return {
    planned: sum(all.map((c) => c.planned)),
    sent: sum(all.map((c) => c.sent)),
    acked: sumOrNull(all.map((c) => c.acked)),
    expected: sumOrNull(all.map((c) => c.expected)),
    received: sumOrNull(all.map((c) => c.received)),
    lost: sumOrNull(all.map((c) => c.lost)),
    duplicated: sumOrNull(all.map((c) => c.duplicated)),
    reordered: sumOrNull(all.map((c) => c.reordered)),
    dropped: sum(all.map((c) => c.dropped)),
    late: sum(all.map((c) => c.late)),
    errors: sum(all.map((c) => c.errors)),
  }
}

function mergeHealth(all: readonly BenchClientHealth[]): BenchClientHealth {
  const share = (h: BenchClientHealth) => h.cpuPercent / h.cores
  const busiest = all.reduce((a, b) => (share(b) > share(a) ? b : a))
  return {
    cpuPercent: busiest.cpuPercent,
    cores: busiest.cores,
    rssBytes: Math.max(...all.map((h) => h.rssBytes)),
    eventLoopLagP99Ms: Math.max(...all.map((h) => h.eventLoopLagP99Ms)),
  }
}

// ---- histograms ---------------------------------------------------------------------------------------------------

function mergeHistogramSets(sets: readonly BenchHistograms[], label: (i: number) => string): BenchHistograms {
  const out: BenchHistograms = {}
  for (const d of LATENCY_DISTRIBUTIONS) {
    const parts = sets.flatMap((s, i) => (s[d] ? [{histogram: s[d], from: i}] : []))
    if (parts.length > 0) out[d] = mergeDistribution(d, parts, label)
  }
  return out
}

function mergeDistribution(d: LatencyDistribution, parts: ReadonlyArray<{histogram: EncodedHistogram; from: number}>, label: (i: number) => string): EncodedHistogram {
  let h: LatencyHistogram | undefined
  try {
    for (const part of parts) h = decodeInto(part.histogram.encoded, h, label(part.from), `histograms.${d}.encoded`)
    const merged = h as LatencyHistogram
    const recorded = parts.map((p) => p.histogram.summary).filter((s) => s.count > 0)
    const summary = summarizeMs(merged)
    if (recorded.length > 0) {
      summary.min = Math.min(...recorded.map((s) => s.min))
      summary.max = Math.max(...recorded.map((s) => s.max))
    }
    return {encoded: encodeHistogram(merged), summary}
  } finally {
    h?.destroy()
  }
}

function decodeInto(encoded: string, into: LatencyHistogram | undefined, file: string, path: string): LatencyHistogram {
  try {
    return mergeEncoded(encoded, into)
  } catch (error) {
    throw new ConfigError([{file, path, message: `${path} is not a readable HDR histogram (${error instanceof Error ? error.message : String(error)})`}])
  }
}

// ---- timelines ----------------------------------------------------------------------------------------------------

interface SecondBucket {
  sentPerSec: number
  receivedPerSec: number | null
  histograms: string[]
  /** False once any point in this second lacks its interval histogram. */
  complete: boolean
}

function mergeTimelines(timelines: ReadonlyArray<readonly TimelinePoint[]>): TimelinePoint[] {
  const points = timelines.flat()
  if (points.length === 0) return []
  const origin = Math.min(...points.map((p) => p.t))
  const secondOf = (p: TimelinePoint) => Math.round((p.t - origin) / 1000)
  const merged = new Map<number, SecondBucket>()
  for (const timeline of timelines) {
    for (const [second, own] of groupBy(timeline, secondOf)) {
      // Interval timers that drift can put two points of one shard into one second: each is a per-second rate,
      // so the shard's rate for that second is their mean (their samples all belong to it).
      const bucket = merged.get(second) ?? {sentPerSec: 0, receivedPerSec: 0, histograms: [], complete: true}
      bucket.sentPerSec += mean(own.map((p) => p.sentPerSec))
      const received = own.map((p) => p.receivedPerSec)
      bucket.receivedPerSec = bucket.receivedPerSec === null || received.includes(null) ? null : bucket.receivedPerSec + mean(received as number[])
      for (const p of own) {
        if (p.histogram === undefined) bucket.complete = false
        else bucket.histograms.push(p.histogram)
      }
      merged.set(second, bucket)
    }
  }
  return [...merged.entries()].sort(([a], [b]) => a - b).map(([second, bucket]) => timelinePoint(origin + second * 1000, bucket))
}

function timelinePoint(t: number, bucket: SecondBucket): TimelinePoint {
  const point: TimelinePoint = {t, sentPerSec: bucket.sentPerSec, receivedPerSec: bucket.receivedPerSec, p50: null, p99: null}
  if (!bucket.complete || bucket.histograms.length === 0) return point
  let h: LatencyHistogram | undefined
  try {
    for (const encoded of bucket.histograms) h = mergeEncoded(encoded, h)
    const merged = h as LatencyHistogram
    if (merged.totalCount > 0) {
      point.p50 = merged.getValueAtPercentile(50) / 1000
      point.p99 = merged.getValueAtPercentile(99) / 1000
    }
    point.histogram = encodeHistogram(merged)
    return point
  } finally {
    h?.destroy()
  }
}

// ---- small helpers ------------------------------------------------------------------------------------------------

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

function sumOrNull(values: ReadonlyArray<number | null>): number | null {
  return values.includes(null) ? null : sum(values as number[])
}

function mean(values: readonly number[]): number {
  return sum(values) / values.length
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)]
}

function groupBy<T>(items: readonly T[], key: (item: T) => number): Map<number, T[]> {
  const groups = new Map<number, T[]>()
  for (const item of items) {
    const k = key(item)
    const group = groups.get(k)
    if (group) group.push(item)
    else groups.set(k, [item])
  }
  return groups
}
