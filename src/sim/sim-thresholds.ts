import {statsFromHistogram} from '../metrics/observation.js'
import {evaluateThresholds, parseThresholds, type Threshold, type ThresholdVerdict, type ThresholdVocabulary} from '../metrics/thresholds.js'
import type {LatencyHistogram} from '../metrics/histogram.js'
import type {FleetCounters} from './types.js'

/**
 * `iotd sim --threshold`: the bench's threshold grammar (k6's) over what a simulation measures. A failed threshold
 * makes the run exit 99, as in bench.
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
  const t = m.totals
  // Suppressed messages (a dropout anomaly) were never meant to be sent; every other due message was.
  const due = t.published + t.dropped
  return evaluateThresholds(thresholds, {
    distributions: {lag: statsFromHistogram(m.publishLag), ack: statsFromHistogram(m.ackLatency), connect: statsFromHistogram(m.connectLatency)},
    connected: t.target > 0 ? t.connected / t.target : undefined,
    delivered: due > 0 ? m.delivered / due : undefined,
    errors: t.errors,
    dropped: t.dropped,
    late: t.late,
  })
}

/** Messages that reached the broker, per fleet by its QoS: QoS 0 ones once written, QoS 1/2 ones once acknowledged. */
export function deliveredCount(fleets: readonly FleetCounters[], qosOf: (fleet: string) => number): number {
  return fleets.reduce((sum, f) => sum + (qosOf(f.fleet) === 0 ? f.published : f.acked), 0)
}

