import {describe, expect, it} from 'vitest'
import {formatBenchPlainLine} from '../../../src/report/bench-plain-line.js'
import type {BenchSnapshot} from '../../../src/bench/run-bench.js'

const lat = (p50: number, p99: number) => ({count: 100, min: 0.1, mean: p50, p50, p90: p99 / 2, p99, p999: p99, max: p99 * 2})

function snapshot(patch: Partial<BenchSnapshot> = {}): BenchSnapshot {
  return {
    mode: 'e2e',
    phase: 'running',
    elapsedMs: 3000,
    plannedMs: 10_000,
    broker: 'mqtt://127.0.0.1:1883',
    load: '2000/s for 10s',
    targetPerSec: 2000,
    intervalStartMs: 0,
    sentPerSec: 2000,
    receivedPerSec: 2000,
    clients: {connected: 5, total: 5},
    counts: {planned: 6000, sent: 6000, sentTotal: 6000, acked: 6000, dropped: 0, late: 0, errors: 0, received: 6000, distinct: 6000, duplicates: 0, reordered: 0, foreign: 0, holes: 0, connected: 5, attempts: 0, windowFullMs: 0},
    headline: 'latency',
    interval: lat(0.4, 2),
    cumulative: lat(0.4, 2),
    percentileCurve: [],
    health: {cpuPercent: 20, rssBytes: 1e8, eventLoopLagP99Ms: 1, cores: 2},
    ...patch,
  }
}

describe('formatBenchPlainLine', () => {
  it('shows the QoS 1/2 acknowledgement latency beside the delivery latency end to end', () => {
    const line = formatBenchPlainLine(snapshot({ack: lat(0.3, 1.5)}))
    expect(line).toContain('latency p50 400µs p99 2.0ms max 4.0ms  ack p50 300µs p99 1.5ms')
    expect(formatBenchPlainLine(snapshot())).not.toContain('ack ')
  })
})
