import {statsFromHistogram} from '../metrics/observation.js'
import type {DistributionStats} from '../metrics/observation.js'
import {evaluateThreshold, evaluateThresholds, parseThresholds, type Threshold, type ThresholdVerdict, type ThresholdVocabulary} from '../metrics/thresholds.js'
import type {LatencyHistogram} from '../metrics/histogram.js'
import type {FleetCounters, LatencyFigures, SimSummary} from './types.js'

/**
 * `iotd sim --threshold`: the bench's threshold grammar (k6's) over what a simulation measures. A failed threshold
 * makes the run exit 99, as in bench; a shard's (--shard i/n) are recorded in its summary and judged by
 * `iotd sim merge` on the whole fleet's figures (judgeMergedSummary), so the shard itself exits 0 on them.
 *
 *   lag.p(99)<50ms       publish lag (send time − due time); `lag` is the default distribution: p(99)<50ms
 *   ack.p(99)<20ms       QoS 1/2 publish → PUBACK/PUBCOMP
 *   connect.p(95)<250ms  CONNECT → CONNACK
 *   connected>=100%      share of the fleet connected as the run ended (a fraction or a percentage)
 *   delivered>=99.9%     share of due messages that reached the broker (written at QoS 0, acknowledged at QoS 1/2)
 *   errors==0            connect and publish failures
 *   dropped==0, late==0  messages not sent (connection down, backlog full) / sent more than one period late
 */
export const SIM_THRESHOLDS: ThresholdVocabulary = {
  distributions: ['lag', 'ack', 'connect'],
  figures: {connected: 'fraction', delivered: 'fraction', errors: 'count', dropped: 'count', late: 'count'},
  hints: {publish_lag: 'lag.p(N)', latency: 'lag', connections: 'connected', loss: 'delivered', rate: 'delivered'},
  examples: ['connected>=100%', 'delivered>=99.9%', 'lag.p(99)<50ms'],
}

export function parseSimThresholds(texts: readonly string[], origin = '--threshold'): Threshold[] {
  return parseThresholds(texts, origin, SIM_THRESHOLDS)
}

export interface SimMeasurements {
  totals: FleetCounters
  /** Messages that reached the broker: written at QoS 0, acknowledged at QoS 1/2. */
  delivered: number
  publishLag: LatencyHistogram
  ackLatency: LatencyHistogram
  connectLatency: LatencyHistogram
}

/** Judges the thresholds on the run's live histograms (before they are destroyed) and its final counters. */
export function evaluateSimThresholds(thresholds: readonly Threshold[], m: SimMeasurements): ThresholdVerdict[] {
  return evaluateThresholds(thresholds, {
    distributions: {lag: statsFromHistogram(m.publishLag), ack: statsFromHistogram(m.ackLatency), connect: statsFromHistogram(m.connectLatency)},
    ...runFigures(m.totals, m.delivered),
  })
}

/** The figures of the whole run, from its counters: one definition for a live run and a merge of shards. */
function runFigures(t: FleetCounters, delivered: number): {connected?: number; delivered?: number; errors: number; dropped: number; late: number} {
  // Suppressed messages (a dropout anomaly) were never meant to be sent; every other due message was.
  const due = t.published + t.dropped
  return {
    connected: t.target > 0 ? t.connected / t.target : undefined,
    delivered: due > 0 ? delivered / due : undefined,
    errors: t.errors,
    dropped: t.dropped,
    late: t.late,
  }
}

/** The percentiles a sim summary keeps, and the maximum as p(100). */
const KEPT_PERCENTILES: ReadonlyArray<[number, keyof LatencyFigures]> = [
  [50, 'p50'],
  [90, 'p90'],
  [99, 'p99'],
  [99.9, 'p999'],
  [100, 'max'],
]

/** The kept percentile a p(N) reads: N itself when kept, else the next one kept above it (p(95) reads p(99)). */
function keptPercentile(p: number): [number, keyof LatencyFigures] {
  return KEPT_PERCENTILES.find(([kept]) => kept >= p)!
}

/**
 * A merged distribution as the evaluator reads it. A sim summary keeps percentiles, not histograms, and the merged
 * p(N) is the largest shard's: at least N % of every shard's samples, hence of all of them, lie at or below it, so
 * it is an upper bound of the fleet's p(N). A p(N) the summary does not keep reads the next one kept above it
 * (p(95) reads p(99)), still an upper bound. count and max are exact; avg and min are not kept (NaN: not measured).
 */
function mergedStats(f: LatencyFigures): DistributionStats {
  return {
    count: f.count,
    max: f.max,
    min: Number.NaN,
    avg: Number.NaN,
    percentile: (p) => f[keptPercentile(p)[1]],
  }
}

/** The percentile a threshold reads when the merged value is only an upper bound (med is p(50)); undefined when exact. */
function boundedPercentile(t: Threshold): number | undefined {
  const p = t.subject.kind === 'percentile' ? t.subject.percentile : t.subject.kind === 'stat' && t.subject.stat === 'med' ? 50 : undefined
  return p === undefined || p >= 100 ? undefined : p
}

/**
 * `iotd sim merge`: the thresholds judged on the merged summary of a run's shards. Counts and shares come exactly
 * from the summed counters, as for one run of the whole fleet. A percentile is the largest shard's (an upper bound,
 * see mergedStats): an upper limit (`<`, `<=`) it meets, the fleet meets; one it misses says "upper bound", as the
 * fleet's own value may be lower. A lower limit it misses, the fleet misses too; one it meets, and an equality,
 * cannot be shown from an upper bound and fail, saying so, as a threshold on what was not measured does.
 */
export function evaluateMergedSimThresholds(thresholds: readonly Threshold[], merged: SimSummary): ThresholdVerdict[] {
  const observation = {
    distributions: {lag: mergedStats(merged.publishLag), ack: mergedStats(merged.ackLatency), connect: mergedStats(merged.connectLatency)},
    ...runFigures(merged.totals, merged.delivered),
  }
  return thresholds.map((t) => {
    const v = evaluateThreshold(t, observation)
    if (Number.isNaN(v.observed)) {
      const stat = t.subject.kind === 'stat' ? t.subject.stat : undefined
      return stat === 'avg' || stat === 'min' ? {...v, observedText: `not measured (a shard's summary keeps no ${stat})`} : v
    }
    const p = boundedPercentile(t)
    if (p === undefined) return v
    const [kept] = keptPercentile(p)
    const bound = `upper bound: the largest shard's${kept === p ? '' : ` ${kept === 100 ? 'max' : `p(${kept})`}`}`
    const shown = (t.op === '<' || t.op === '<=') || ((t.op === '>' || t.op === '>=') && !v.ok)
    if (shown) return {...v, observedText: `${v.observedText} (${bound})`}
    return {...v, ok: false, observedText: `${v.observedText} (${bound}; '${t.op}' needs the exact value, which a merge of summaries does not have)`}
  })
}

/**
 * `iotd sim merge`: the merged summary with its thresholds judged (`thresholds`), by those given
 * (`iotd sim merge --threshold`), else by every one any shard recorded, in the order first seen. Shards of one run
 * are started with one command line; when they recorded different thresholds the merge still judges each one (never
 * fewer than a shard was asked to meet) and warns which shard lacked which, so a misconfigured Job is seen rather
 * than judged by part of its SLOs. `names` are the files the shards were read from, for a summary that is no shard.
 */
export function judgeMergedSummary(merged: SimSummary, shards: readonly SimSummary[], given: readonly Threshold[], names?: readonly string[]): SimSummary {
  let thresholds = given
  const warnings = [...merged.warnings]
  if (given.length === 0) {
    const recorded = shards.map((s) => (s.thresholds ?? []).map((v) => v.threshold))
    const texts = [...new Set(recorded.flat())]
    thresholds = parseSimThresholds(texts, 'a shard threshold')
    const lacking = shards.flatMap((s, i) => {
      const without = texts.filter((t) => !recorded[i].includes(t))
      const name = s.shard ? `shard ${s.shard.index + 1}/${s.shard.count}` : (names?.[i] ?? `summary ${i + 1}`)
      return without.length === 0 ? [] : [`${name} ${without.length === texts.length ? 'recorded none' : `lacks ${without.join(', ')}`}`]
    })
    if (lacking.length > 0) warnings.push(`the shards recorded different thresholds (${lacking.join('; ')}): the merge judges every one any shard recorded; --threshold sets them`)
  }
  return {...merged, warnings, ...(thresholds.length > 0 && {thresholds: evaluateMergedSimThresholds(thresholds, merged)})}
}

/** Messages that reached the broker, per fleet by its QoS: QoS 0 ones once written, QoS 1/2 ones once acknowledged. */
export function deliveredCount(fleets: readonly FleetCounters[], qosOf: (fleet: string) => number): number {
  return fleets.reduce((sum, f) => sum + (qosOf(f.fleet) === 0 ? f.published : f.acked), 0)
}
