import {LATENCY_DISTRIBUTIONS, type BenchObservation, type DistributionStats} from '../metrics/observation.js'
import {evaluateThresholds, type Threshold} from '../metrics/thresholds.js'
import {decodeResultHistogram, verdictRecord, type BenchCounts, type BenchResult, type ThresholdVerdictRecord} from '../bench/bench-result.js'
import type {LatencyHistogram} from '../metrics/histogram.js'

/**
 * Thresholds checked against a saved result rather than a live run: `iotd report compare --threshold` (on the
 * candidate), `iotd report show --threshold`, and `iotd report merge`, which must judge the merged figures again
 * because a shard's verdicts say nothing about the whole. The figures are those `iotd bench` judges: percentiles
 * from the full histograms, min/max/avg from the stored summaries (exact where the encoded form is not), fractions of
 * what was expected.
 */
export function evaluateResultThresholds(result: BenchResult, thresholds: readonly Threshold[], file = 'result'): ThresholdVerdictRecord[] {
  if (thresholds.length === 0) return []
  const live: LatencyHistogram[] = []
  try {
    const distributions: BenchObservation['distributions'] = {}
    for (const d of LATENCY_DISTRIBUTIONS) {
      const stored = result.histograms[d]
      if (!stored) continue
      const h = decodeResultHistogram(stored.encoded, {file, path: `histograms.${d}.encoded`})
      live.push(h)
      distributions[d] = statsOf(h, stored.summary)
    }
    const observation: BenchObservation = {
      distributions,
      rate: result.rate.achievedPerSec,
      loss: fractionOf(result.counts, result.counts.lost),
      dup: fractionOf(result.counts, result.counts.duplicated),
      reorder: fractionOf(result.counts, result.counts.reordered),
      errors: result.counts.errors,
      dropped: result.counts.dropped,
    }
    return evaluateThresholds(thresholds, observation).map(verdictRecord)
  } finally {
    for (const h of live) h.destroy()
  }
}

/** The threshold texts a result was judged by (a merged result keeps none, so merge passes its shards'). */
export function thresholdTexts(results: readonly BenchResult[]): string[] {
  return [...new Set(results.flatMap((r) => r.thresholds.map((v) => v.threshold)))]
}

function statsOf(h: LatencyHistogram, summary: {count: number; min: number; max: number; mean: number}): DistributionStats {
  return {
    count: summary.count,
    min: summary.min,
    max: summary.max,
    avg: summary.mean,
    percentile: (p) => h.getValueAtPercentile(p) / 1000,
  }
}

function fractionOf(counts: BenchCounts, n: number | null): number | undefined {
  if (n === null || counts.expected === null || counts.expected === 0) return undefined
  return n / counts.expected
}
