import {describe, expect, it} from 'vitest'
import {UsageError} from '../../../src/errors.js'
import {anyRegression, compareResults, comparisonMetricIds, formatComparison, setupDifferences, type ComparisonRow} from '../../../src/report/bench-compare.js'
import type {BenchResult, LatencySummaryMs} from '../../../src/bench/bench-result.js'

/** Summaries stand in for histograms: compare reads only the summaries. */
function summary(p99: number, patch: Partial<LatencySummaryMs> = {}): {encoded: string; summary: LatencySummaryMs} {
  return {encoded: 'AAAA', summary: {count: 1000, min: 0.5, mean: p99 / 4, p50: p99 / 5, p90: p99 / 2, p99, p999: p99 * 2, p9999: p99 * 3, max: p99 * 4, ...patch}}
}

function result(figures: {rate?: number; p99?: number; lost?: number | null; errors?: number; ack?: boolean} = {}): BenchResult {
  const lost = figures.lost === undefined ? 0 : figures.lost
  return {
    schemaVersion: 1,
    meta: {
      tool: {name: 'iotd', version: '0.1.0'},
      commandLine: ['bench'],
      brokers: ['mqtt://broker:1883'],
      mode: 'e2e',
      mqttVersion: '5',
      qos: 1,
      payloadBytes: 100,
      clients: {publishers: 10, subscribers: 1, total: 11},
      target: {model: 'open', ratePerSec: 10_000, text: '10000/s'},
      startedAt: '2026-11-02T10:00:00.000Z',
      endedAt: '2026-11-02T10:00:10.000Z',
      warmupMs: 0,
    },
    counts: {
      planned: 100_000,
      sent: 100_000,
      acked: 100_000,
      expected: lost === null ? null : 100_000,
      received: lost === null ? null : 100_000 - lost,
      lost,
      duplicated: lost === null ? null : 0,
      reordered: lost === null ? null : 0,
      dropped: 0,
      late: 0,
      errors: figures.errors ?? 0,
    },
    rate: {targetPerSec: 10_000, achievedPerSec: figures.rate ?? 10_000, receivedPerSec: null},
    brokerCount: null,
    health: {cpuPercent: 40, rssBytes: 1e8, eventLoopLagP99Ms: 1, cores: 2},
    thresholds: [],
    timeline: [],
    histograms: {latency: summary(figures.p99 ?? 10), ...(figures.ack === false ? {} : {ack: summary(2)})},
  }
}

const row = (rows: ComparisonRow[], metric: string) => {
  const found = rows.find((r) => r.metric === metric)
  if (!found) throw new Error(`no row ${metric}`)
  return found
}

describe('compareResults: verdicts', () => {
  it('flags latency up beyond the tolerance, and not within it', () => {
    const up = compareResults(result({p99: 10}), result({p99: 12}), {tolerancePct: 5})
    expect(row(up, 'latency.p99')).toMatchObject({base: 10, candidate: 12, delta: 2, verdict: 'regression', better: 'lower', unit: 'ms'})
    expect(row(up, 'latency.p99').deltaPct).toBeCloseTo(20, 9)
    expect(anyRegression(up)).toBe(true)

    const slight = compareResults(result({p99: 10}), result({p99: 10.4}), {tolerancePct: 5})
    expect(row(slight, 'latency.p99').verdict).toBe('within')
    expect(anyRegression(slight)).toBe(false)
  })

  it('keeps a latency move within the noise floor out of the verdicts, whatever its percentage', () => {
    // 757 -> 799 µs is 5.5% up: 42 µs, below the default floor of 100 µs.
    const noise = compareResults(result({p99: 0.757}), result({p99: 0.799}), {tolerancePct: 5, metrics: ['latency.p99']})
    expect(row(noise, 'latency.p99').verdict).toBe('within')
    expect(row(noise, 'latency.p99').deltaPct).toBeCloseTo(5.55, 2)
    // Beyond the floor, the tolerance decides again; a floor of 0 turns it off.
    expect(row(compareResults(result({p99: 0.757}), result({p99: 0.9}), {tolerancePct: 5, metrics: ['latency.p99']}), 'latency.p99').verdict).toBe('regression')
    expect(row(compareResults(result({p99: 0.757}), result({p99: 0.799}), {tolerancePct: 5, metrics: ['latency.p99'], noiseFloorMs: 0}), 'latency.p99').verdict).toBe('regression')
    // Not a latency: throughput has no floor.
    expect(row(compareResults(result({rate: 10_000}), result({rate: 9000}), {tolerancePct: 5, metrics: ['throughput']}), 'throughput').verdict).toBe('regression')
  })

  it('counts a move exactly at the tolerance as within it', () => {
    const edge = compareResults(result({p99: 20}), result({p99: 21}), {tolerancePct: 5})
    expect(row(edge, 'latency.p99').verdict).toBe('within')
  })

  it('calls latency down an improvement, never a regression', () => {
    const down = compareResults(result({p99: 10}), result({p99: 5}), {tolerancePct: 5})
    expect(row(down, 'latency.p99')).toMatchObject({verdict: 'improvement', deltaPct: -50})
    expect(anyRegression(down)).toBe(false)
  })

  it('flags throughput down, and calls throughput up an improvement', () => {
    const down = compareResults(result({rate: 10_000}), result({rate: 9_000}), {tolerancePct: 5})
    expect(row(down, 'throughput')).toMatchObject({verdict: 'regression', delta: -1000, deltaPct: -10, better: 'higher', unit: 'rate'})
    const up = compareResults(result({rate: 10_000}), result({rate: 12_000}), {tolerancePct: 5})
    expect(row(up, 'throughput').verdict).toBe('improvement')
    expect(anyRegression(up)).toBe(false)
  })

  it('flags loss up, including from none at all, where no percentage exists', () => {
    const fromNone = compareResults(result({lost: 0}), result({lost: 1}), {tolerancePct: 5})
    expect(row(fromNone, 'loss')).toMatchObject({base: 0, candidate: 0.00001, deltaPct: null, verdict: 'regression', unit: 'fraction'})
    const more = compareResults(result({lost: 100}), result({lost: 200}), {tolerancePct: 50})
    expect(row(more, 'loss')).toMatchObject({verdict: 'regression', deltaPct: 100})
    const less = compareResults(result({lost: 200}), result({lost: 100}), {tolerancePct: 5})
    expect(row(less, 'loss').verdict).toBe('improvement')
    const same = compareResults(result({lost: 0}), result({lost: 0}), {tolerancePct: 0})
    expect(row(same, 'loss')).toMatchObject({delta: 0, deltaPct: 0, verdict: 'within'})
  })

  it('flags errors that appear', () => {
    const rows = compareResults(result({errors: 0}), result({errors: 3}), {tolerancePct: 5})
    expect(row(rows, 'errors')).toMatchObject({delta: 3, verdict: 'regression', unit: 'count'})
  })

  it('marks a figure one side did not measure n/a, never a regression', () => {
    const rows = compareResults(result({lost: 10}), result({lost: null}), {tolerancePct: 5})
    expect(row(rows, 'loss')).toMatchObject({base: 0.0001, candidate: null, delta: null, deltaPct: null, verdict: 'n/a'})
    const noAck = compareResults(result({ack: true}), result({ack: false}), {tolerancePct: 5})
    expect(row(noAck, 'ack.p99').verdict).toBe('n/a')
    expect(anyRegression(noAck)).toBe(false)
  })
})

describe('compareResults: which metrics', () => {
  it('by default compares throughput, every percentile of what either run measured, loss and errors', () => {
    const rows = compareResults(result(), result(), {tolerancePct: 5})
    expect(rows.map((r) => r.metric)).toEqual([
      'throughput',
      'latency.p50',
      'latency.p90',
      'latency.p99',
      'latency.p99.9',
      'latency.p99.99',
      'latency.max',
      'ack.p50',
      'ack.p90',
      'ack.p99',
      'ack.p99.9',
      'ack.p99.99',
      'ack.max',
      'loss',
      'errors',
    ])
    expect(rows.every((r) => r.verdict === 'within' && r.tolerancePct === 5)).toBe(true)
  })

  it('leaves loss out when neither run could know it', () => {
    const rows = compareResults(result({lost: null}), result({lost: null}), {tolerancePct: 5})
    expect(rows.map((r) => r.metric)).not.toContain('loss')
  })

  it('compares only the metrics asked for, in that order, and names unknown ones', () => {
    const rows = compareResults(result({p99: 10}), result({p99: 30}), {tolerancePct: 5, metrics: ['latency.mean', 'throughput']})
    expect(rows.map((r) => r.metric)).toEqual(['latency.mean', 'throughput'])
    expect(rows[0]).toMatchObject({base: 2.5, candidate: 7.5, verdict: 'regression'})
    expect(() => compareResults(result(), result(), {tolerancePct: 5, metrics: ['p99', 'latency.p98']})).toThrow("unknown metrics 'p99', 'latency.p98'")
    expect(comparisonMetricIds()).toContain('connect.p99.99')
  })

  it('refuses a negative tolerance', () => {
    expect(() => compareResults(result(), result(), {tolerancePct: -1})).toThrow(UsageError)
  })
})

describe('setupDifferences', () => {
  it('lists what was set up differently, and nothing for the same setup', () => {
    const b = result()
    b.meta.qos = 0
    b.meta.payloadBytes = 1024
    expect(setupDifferences(result(), b)).toEqual(['QoS 1 -> 0', 'payload 100 B -> 1024 B'])
    expect(setupDifferences(result(), result())).toEqual([])
  })
})

describe('formatComparison', () => {
  const rows = compareResults(result({rate: 10_000, p99: 10, lost: 0, errors: 0}), result({rate: 9_000, p99: 4, lost: 42, errors: 0}), {
    tolerancePct: 5,
    metrics: ['throughput', 'latency.p99', 'loss', 'errors'],
  })

  it('prints an aligned table with signed deltas and verdicts, without escape codes when colour is off', () => {
    const text = formatComparison(rows)
    expect(text).toBe(
      [
        'metric           base  candidate     delta  delta %  verdict',
        'throughput   10,000/s    9,000/s  -1,000/s   -10.0%  regression',
        'latency p99    10.0ms      4.0ms    -6.0ms   -60.0%  better',
        'loss               0%     0.042%   +0.042%      new  regression',
        'errors              0          0         0    ±0.0%  ok',
      ].join('\n'),
    )
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/\u001b\[/)
  })

  it('colours verdicts without moving the columns', () => {
    const coloured = formatComparison(rows, {color: true})
    // eslint-disable-next-line no-control-regex
    expect(coloured).toMatch(/\u001b\[31mregression/)
    // eslint-disable-next-line no-control-regex
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(formatComparison(rows))
  })

  it('shows missing figures as dashes', () => {
    const text = formatComparison(compareResults(result({lost: 10}), result({lost: null}), {tolerancePct: 5, metrics: ['loss']}))
    expect(text.split('\n')[1]).toBe('loss    0.01%          -      -        -  n/a')
  })
})
