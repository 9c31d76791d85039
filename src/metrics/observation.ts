import type {LatencyHistogram} from './histogram.js'

/**
 * What a finished bench run measured, in the plain shape thresholds are evaluated against. Kept free of histogram
 * types so a saved result (`iotd report show`) or a test can supply the same figures without hdr-histogram-js.
 */

/**
 * The timing distributions a bench run records, all in milliseconds:
 * - `latency`: publish -> deliver, measured from the *intended* send time (corrected for coordinated omission);
 * - `uncorrected`: publish -> deliver, measured from the actual send time;
 * - `ack`: publish -> PUBACK/PUBCOMP (QoS 1 and 2 only);
 * - `connect`: connect (and subscribe) time per client.
 */
export const LATENCY_DISTRIBUTIONS = ['latency', 'uncorrected', 'ack', 'connect'] as const
export type LatencyDistribution = (typeof LATENCY_DISTRIBUTIONS)[number]

export function isLatencyDistribution(name: string): name is LatencyDistribution {
  return (LATENCY_DISTRIBUTIONS as readonly string[]).includes(name)
}

/** One distribution's figures in milliseconds. min/max/avg/percentile are meaningless when `count` is 0. */
export interface DistributionStats {
  count: number
  min: number
  max: number
  avg: number
  /** The value at percentile `p` (0–100), in milliseconds. */
  percentile(p: number): number
}

export interface BenchObservation {
  /** A distribution the run did not record (e.g. `ack` at QoS 0) is absent, which reads as "no samples". */
  distributions: Partial<Record<LatencyDistribution, DistributionStats>>
  /** Achieved rate of what the run sends, per second: messages, or connections in connect mode. */
  rate: number
  /** Fractions (0–1) of the messages expected; undefined when the mode cannot know (publish-only has no receiver). */
  loss?: number
  dup?: number
  reorder?: number
  /** Connect, publish and subscribe failures. */
  errors: number
  /** Sends that could not leave on time in the open model (k6's dropped_iterations). */
  dropped: number
}

/**
 * Reads a microsecond histogram (see metrics/histogram.ts) as millisecond stats. The percentile lookup reads the
 * live histogram, so evaluate thresholds before the histogram is destroyed.
 */
export function statsFromHistogram(h: LatencyHistogram): DistributionStats {
  const count = h.totalCount
  return {
    count,
    min: count === 0 ? 0 : h.minNonZeroValue / 1000,
    max: h.maxValue / 1000,
    avg: h.mean / 1000,
    percentile: (p) => h.getValueAtPercentile(p) / 1000,
  }
}
