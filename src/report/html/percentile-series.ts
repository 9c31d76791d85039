import type {EncodedHistogram} from '../../bench/bench-result.js'
import {mergeEncoded} from '../../metrics/histogram.js'

/**
 * The data of HdrHistogram's percentile plot: latency against 1/(1-p) on a log scale, so the median, p90, p99,
 * p99.9 ... are evenly spaced and the tail gets the room it deserves. x is log10(1/(1-p)): 0 is 0%, 1 is 90%,
 * 2 is 99%, 3 is 99.9%.
 */

/** Points per decade of 1/(1-p): smooth enough for a 1,000-pixel plot of up to 7 decades. */
const STEPS_PER_DECADE = 50

export interface PercentilePoint {
  /** log10(1/(1-p)). */
  x: number
  /** Latency in milliseconds. */
  ms: number
}

/** p (0–100) on the plot's x axis. */
export function percentileToX(percentile: number): number {
  return percentile >= 100 ? Infinity : -Math.log10(1 - percentile / 100)
}

/**
 * The curve of one distribution, from 0% to the last percentile its sample count can tell apart (1/(1-p) =
 * count), where it ends at the exact maximum. Empty for an empty distribution.
 */
export function percentileCurve(histogram: EncodedHistogram): PercentilePoint[] {
  const count = histogram.summary.count
  if (count === 0) return []
  const end = Math.log10(Math.max(count, 1))
  const h = mergeEncoded(histogram.encoded)
  try {
    const points: PercentilePoint[] = []
    const steps = Math.floor(end * STEPS_PER_DECADE)
    for (let i = 0; i < steps; i++) {
      const x = i / STEPS_PER_DECADE
      points.push({x, ms: h.getValueAtPercentile(100 * (1 - 10 ** -x)) / 1000})
    }
    points.push({x: end, ms: histogram.summary.max})
    return points
  } finally {
    h.destroy()
  }
}

/** Tick labels of the x axis: 0%, 90%, 99%, 99.9%, ... up to `decades`. */
export function percentileTickLabel(decade: number): string {
  if (decade === 0) return '0%'
  return `${(100 - 100 / 10 ** decade).toFixed(Math.max(0, decade - 2))}%`
}
