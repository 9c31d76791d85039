import {LATENCY_DISTRIBUTIONS, type LatencyDistribution} from '../metrics/observation.js'
import {UsageError} from '../errors.js'
import {
  BENCH_RESULT_SCHEMA_VERSION,
  decodeResultHistogram,
  measuredWindowMs,
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
 * - counts are summed. A shard without a subscriber has no delivery counts (null): the others' are the run's. A
 *   shard's subscribers count every shard's messages, as one run's would, so a shard cannot know what was expected
 *   of them: the merge does, `expected = sent (all shards) × subscribers (all shards)`, and `lost` follows from it;
 * - rates are summed: each shard's rate over its own measured window. That is the rate of the whole run when the
 *   shards ran together; `meta.merge.commonWindowMs` says how long they all measured at once, so a caller can warn
 *   when they did not;
 * - timelines are aligned by wall-clock second (each point to the nearest second from the earliest point) and
 *   their rates summed. Percentiles of an interval cannot be summed: they are recomputed when every point in that
 *   second carries its interval histogram, and are null otherwise;
 * - client health is the busiest shard's (highest CPU share of its cores), with the worst event-loop lag and the
 *   largest RSS of any shard: a bottleneck in any one shard limits the whole run;
 * - the broker's $SYS count: each shard read the whole broker's counter over its own window, which holds every
 *   shard's messages when they ran together, so the widest window's count is compared with the sum of the shards'
 *   sends (null when a shard has none, or shards are missing);
 * - threshold verdicts are dropped (empty): they must be evaluated again against the merged figures, which is the
 *   caller's job (the shards' threshold texts are in their `thresholds[].threshold`).
 *
 * Results of different modes, QoS, payload sizes, MQTT versions or load models are refused, as are results of
 * different runs (meta.runId), the same shard twice (merging a file with itself would double every count), and a
 * set with shards missing unless `allowPartial` (then meta.merge.missingShards lists them and delivery counts that
 * depend on every shard are null).
 */

export interface MergeOptions {
  /** Names of the results (usually their files), for error messages; default `result 1`, `result 2`, ... */
  labels?: readonly string[]
  /** Merge even when shards of the run are missing (the result says which). */
  allowPartial?: boolean
  /** Things the caller should say out loud (results that cannot be checked, missing shards). */
  onWarning?: (text: string) => void
}

export function mergeResults(results: readonly BenchResult[], options: MergeOptions = {}): BenchResult {
  if (results.length === 0) throw new UsageError('nothing to merge: give one or more bench result files')
  const label = (i: number) => options.labels?.[i] ?? `result ${i + 1}`
  const warn = options.onWarning ?? (() => {})
  checkCompatible(results, label)
  const runId = checkSameRun(results, label, warn)
  const shards = mergedShards(results, label)
  const missing = missingShards(shards)
  if (missing.length > 0) {
    const names = missing.map((s) => s.index + 1).join(', ')
    const text = `shard${missing.length === 1 ? '' : 's'} ${names} of ${missing[0].count} missing`
    if (!options.allowPartial) {
      throw new UsageError(`${text}: a merge without ${missing.length === 1 ? 'it' : 'them'} is not the run`, [
        'give every shard\'s result file, or --allow-partial to merge what is there (marked as partial)',
      ])
    }
    warn(`${text}: the merged result covers only ${shards.length} of ${missing[0].count} shards (--allow-partial); loss cannot be known`)
  }
  const meta = mergeMeta(results, shards, label)
  if (runId !== undefined) meta.runId = runId
  if (missing.length > 0 && meta.merge) meta.merge.missingShards = missing
  const counts = mergeCounts(results, missing.length > 0)
  // The received rate as one run computes it: everything received over the time the deliveries took, from the
  // window's start to the slowest shard's last arrival (never shorter than the measured window). Shards without a
  // subscriber have no receiving window; they do not make the run's rate unknown. Subscribe-only shards measured
  // from their first arrival to their last, as one such run does.
  const receivingWindows = results.map((r) => r.rate.receivingMs).filter((ms) => ms !== undefined)
  const floorMs = meta.mode === 'sub' ? 0 : measuredWindowMs(meta)
  const receivingMs = counts.received === null || (receivingWindows.length === 0 && meta.mode === 'sub') ? undefined : Math.max(floorMs, ...receivingWindows)
  return {
    schemaVersion: BENCH_RESULT_SCHEMA_VERSION,
    meta,
    counts,
    rate: {
      targetPerSec: sumOrNull(results.map((r) => r.rate.targetPerSec)),
      achievedPerSec: sum(results.map((r) => r.rate.achievedPerSec)),
      receivedPerSec: counts.received === null || receivingMs === undefined ? null : (counts.received * 1000) / Math.max(1, receivingMs),
      ...(receivingMs === undefined ? {} : {receivingMs}),
    },
    brokerCount: missing.length > 0 ? null : mergeBrokerCounts(results.map((r) => r.brokerCount)),
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

/** The run id the results share; results of different runs are refused, results without one only warned about. */
function checkSameRun(results: readonly BenchResult[], label: (i: number) => string, warn: (text: string) => void): string | undefined {
  const first = results.findIndex((r) => r.meta.runId !== undefined)
  if (first < 0) {
    if (results.length > 1) warn('the results carry no run id (written by an older iotd): nothing shows they are shards of one run')
    return undefined
  }
  const runId = results[first].meta.runId as string
  const other = results.findIndex((r) => r.meta.runId !== undefined && r.meta.runId !== runId)
  if (other >= 0) {
    throw new UsageError(`cannot merge ${label(other)} (run ${results[other].meta.runId}) with ${label(first)} (run ${runId}): they are results of different runs`, [
      'merge the shards of one run (they share --run-id, or --start-at); use iotd report compare to set different runs side by side',
    ])
  }
  const unnamed = results.filter((r) => r.meta.runId === undefined).length
  if (unnamed > 0) warn(`${unnamed} of ${results.length} results carry no run id (written by an older iotd): they cannot be checked to be of run ${runId}`)
  return runId
}

/** Shards of the run that no input covers. */
function missingShards(shards: readonly BenchShard[]): BenchShard[] {
  if (shards.length === 0) return []
  const count = shards[0].count
  const present = new Set(shards.map((s) => s.index))
  const missing: BenchShard[] = []
  for (let index = 0; index < count; index++) if (!present.has(index)) missing.push({index, count})
  return missing
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
        throw new UsageError(`cannot merge ${label(i)} (shard ${shard.index + 1}/${shard.count}) with ${label(countFrom)} (a run of ${shardCount} shards): they come from different runs`)
      }
      shardCount = shard.count
      countFrom = i
      const previous = seen.get(shard.index)
      if (previous !== undefined) {
        throw new UsageError(`shard ${shard.index + 1}/${shard.count} appears in both ${label(previous)} and ${label(i)}: merging it twice would double its counts`)
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

function mergeCounts(results: readonly BenchResult[], partial: boolean): BenchCounts {
  const all = results.map((r) => r.counts)
  // Only the inputs with a receiver have delivery counts; the others (a shard without a subscriber) add nothing.
  const receiving = all.filter((c) => c.received !== null)
  const sent = sum(all.map((c) => c.sent))
  const received = receiving.length === 0 ? null : sum(receiving.map((c) => c.received as number))
  const duplicated = sumOrNull(receiving.map((c) => c.duplicated))
  let expected: number | null
  let lost: number | null
  if (receiving.length > 0 && receiving.every((c) => c.expected !== null)) {
    // Each input knew what its own subscribers were to receive (whole runs, or shards of an older iotd).
    expected = sum(receiving.map((c) => c.expected as number))
    lost = sumOrNull(receiving.map((c) => c.lost))
  } else if (receiving.length > 0 && !partial && duplicated !== null && results[0].meta.mode === 'e2e') {
    // Shards whose subscribers counted every shard's messages: each of the run's subscribers was to get every one.
    expected = sent * sum(results.map((r) => r.meta.clients.subscribers))
    lost = Math.max(0, expected - ((received as number) - duplicated))
  } else {
    expected = null
    lost = null
  }
  return {
    planned: sum(all.map((c) => c.planned)),
    sent,
    acked: sumOrNull(all.map((c) => c.acked)),
    expected,
    received,
    lost,
    duplicated,
    reordered: sumOrNull(receiving.map((c) => c.reordered)),
    dropped: sum(all.map((c) => c.dropped)),
    // Only when a shard counted it: results from before it was counted stay as they were.
    ...(all.some((c) => c.droppedDown !== undefined) ? {droppedDown: sum(all.map((c) => c.droppedDown ?? 0))} : {}),
    late: sum(all.map((c) => c.late)),
    errors: sum(all.map((c) => c.errors)),
  }
}

/**
 * The broker's count over the whole run: the shards' windows overlap (each holds every shard's messages when they ran
 * together), so the widest one is taken and compared with what all the shards sent.
 */
function mergeBrokerCounts(all: ReadonlyArray<BenchResult['brokerCount']>): BenchResult['brokerCount'] {
  if (all.length === 0 || all.some((b) => b === null)) return null
  const counts = all as NonNullable<BenchResult['brokerCount']>[]
  const received = Math.max(...counts.map((b) => b.received))
  const client = sum(counts.map((b) => b.client))
  // The widest window may have started from a retained count of unknown age: then there is nothing to compare.
  const widest = counts.find((b) => b.received === received) as NonNullable<BenchResult['brokerCount']>
  if (widest.baseline === 'retained') return {source: widest.source, received, client, disagreementPct: null, baseline: 'retained'}
  return {source: counts[0].source, received, client, disagreementPct: client > 0 ? ((received - client) / client) * 100 : null, ...(widest.baseline ? {baseline: widest.baseline} : {})}
}

function mergeHealth(all: readonly BenchClientHealth[]): BenchClientHealth {
  const share = (h: BenchClientHealth) => h.cpuPercent / h.cores
  const busiest = all.reduce((a, b) => (share(b) > share(a) ? b : a))
  return {
    cpuPercent: busiest.cpuPercent,
    cores: busiest.cores,
    rssBytes: Math.max(...all.map((h) => h.rssBytes)),
    eventLoopLagP99Ms: Math.max(...all.map((h) => h.eventLoopLagP99Ms)),
    ...(all.some((h) => h.inflightFullPct !== undefined) ? {inflightFullPct: Math.max(...all.map((h) => h.inflightFullPct ?? 0))} : {}),
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
  return decodeResultHistogram(encoded, {file, path}, into)
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
      // A row holds what happened in its second, so the shards' rows of one second add up (as their counts do).
      const bucket = merged.get(second) ?? {sentPerSec: 0, receivedPerSec: null, histograms: [], complete: true}
      bucket.sentPerSec += sum(own.map((p) => p.sentPerSec))
      // A shard without a subscriber has no received column: the others' deliveries are the run's.
      const received = own.map((p) => p.receivedPerSec).filter((r) => r !== null)
      if (received.length > 0) bucket.receivedPerSec = (bucket.receivedPerSec ?? 0) + sum(received)
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
