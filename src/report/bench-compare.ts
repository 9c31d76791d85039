import {LATENCY_DISTRIBUTIONS, type LatencyDistribution} from '../metrics/observation.js'
import {UsageError} from '../errors.js'
import {lossFraction, type BenchResult, type LatencySummaryMs} from '../bench/bench-result.js'
import {formatMs, formatNumber, formatRate} from '../metrics/format.js'
import {paint} from './terminal.js'
import {layoutTable, type ColumnSpec} from './text-table.js'

/**
 * `iotd report compare base.json candidate.json`: the figures of two runs side by side, each with a verdict.
 *
 * A row regresses when it moved the bad way (throughput down; latency, loss or errors up) by more than
 * `tolerancePct` percent of the base figure. From a base of 0 there is no percentage: any loss or error where
 * there was none is a regression, and delta % is null. Moving the good way beyond the tolerance is an improvement;
 * anything else is within tolerance. A figure missing on either side (publish-only runs know no loss) is `n/a`
 * and never a regression.
 *
 * Latencies have a noise floor (`noiseFloorMs`, default DEFAULT_NOISE_FLOOR_MS): a change no larger than it is within
 * tolerance whatever its percentage, since a sub-millisecond figure moves that much between two runs of the same
 * build (757 -> 799 µs is 5.5%, and nothing).
 *
 * p99.99 and max rest on a handful of samples and move from run to run; CI jobs that gate on a comparison usually
 * pass `metrics` to leave them out.
 */

/** The per-distribution figures a row can compare, as named in metric ids (`latency.p99.9`). */
const DISTRIBUTION_STATS = {p50: 'p50', p90: 'p90', p99: 'p99', 'p99.9': 'p999', 'p99.99': 'p9999', max: 'max', mean: 'mean'} as const satisfies Record<
  string,
  keyof LatencySummaryMs
>
type DistributionStatName = keyof typeof DISTRIBUTION_STATS
/** Every stat but the mean: the mean hides the tail and is there only for who asks for it. */
const DEFAULT_STATS: readonly DistributionStatName[] = ['p50', 'p90', 'p99', 'p99.9', 'p99.99', 'max']

export type ComparisonUnit = 'rate' | 'ms' | 'fraction' | 'count'
export type ComparisonVerdict = 'regression' | 'improvement' | 'within' | 'n/a'

export interface ComparisonRow {
  /** `throughput`, `loss`, `errors`, or `<distribution>.<stat>` such as `latency.p99` or `ack.max`. */
  metric: string
  unit: ComparisonUnit
  better: 'higher' | 'lower'
  base: number | null
  candidate: number | null
  /** candidate - base; null when either is missing. */
  delta: number | null
  /** delta as a percentage of base; null when either is missing or base is 0 (and the delta not). */
  deltaPct: number | null
  tolerancePct: number
  verdict: ComparisonVerdict
}

/** Latency changes up to this (ms) are noise, not a regression or an improvement: 0.1 ms. */
export const DEFAULT_NOISE_FLOOR_MS = 0.1

export interface CompareOptions {
  /** How far, in percent of the base figure, a metric may move the bad way before it counts as a regression. */
  tolerancePct: number
  /** Latency changes no larger than this (ms) are within tolerance (default DEFAULT_NOISE_FLOOR_MS). */
  noiseFloorMs?: number
  /** Metric ids to compare, in this order (see comparisonMetricIds); default: all that either result measured. */
  metrics?: readonly string[]
}

/** Every metric id compare understands. */
export function comparisonMetricIds(): string[] {
  return ['throughput', ...LATENCY_DISTRIBUTIONS.flatMap((d) => Object.keys(DISTRIBUTION_STATS).map((s) => `${d}.${s}`)), 'loss', 'errors']
}

export function compareResults(base: BenchResult, candidate: BenchResult, options: CompareOptions): ComparisonRow[] {
  const tolerancePct = options.tolerancePct
  if (!Number.isFinite(tolerancePct) || tolerancePct < 0) {
    throw new UsageError(`tolerance must be a percentage of 0 or more, got ${tolerancePct}`, ['e.g. 5 for 5%'])
  }
  const metrics = options.metrics ? checkMetricIds(options.metrics) : defaultMetrics(base, candidate)
  const noiseFloorMs = options.noiseFloorMs ?? DEFAULT_NOISE_FLOOR_MS
  return metrics.map((metric) => {
    const {unit, better, read} = describeMetric(metric)
    return compareFigures(metric, unit, better, read(base), read(candidate), tolerancePct, unit === 'ms' ? noiseFloorMs : 0)
  })
}

/** True when any row regressed: `iotd report compare` then exits non-zero. */
export function anyRegression(rows: readonly ComparisonRow[]): boolean {
  return rows.some((r) => r.verdict === 'regression')
}

/**
 * How the two runs were set up differently (`QoS 0 -> 1`), so a reader knows when a comparison sets apples
 * against pears. Empty when they match in everything that shapes the figures.
 */
export function setupDifferences(base: BenchResult, candidate: BenchResult): string[] {
  const a = base.meta
  const b = candidate.meta
  const facts: Array<[string, (m: BenchResult['meta']) => string]> = [
    ['mode', (m) => m.mode],
    ['MQTT', (m) => m.mqttVersion],
    ['QoS', (m) => String(m.qos)],
    ['payload', (m) => `${m.payloadBytes} B`],
    ['clients', (m) => `${m.clients.publishers} pub / ${m.clients.subscribers} sub / ${m.clients.total} total`],
    ['target', (m) => m.target.text],
  ]
  return facts.filter(([, of]) => of(a) !== of(b)).map(([name, of]) => `${name} ${of(a)} -> ${of(b)}`)
}

// ---- metrics ------------------------------------------------------------------------------------------------------

interface MetricDescription {
  unit: ComparisonUnit
  better: 'higher' | 'lower'
  read: (r: BenchResult) => number | null
}

function describeMetric(metric: string): MetricDescription {
  if (metric === 'throughput') return {unit: 'rate', better: 'higher', read: (r) => r.rate.achievedPerSec}
  if (metric === 'loss') return {unit: 'fraction', better: 'lower', read: (r) => lossFraction(r.counts)}
  if (metric === 'errors') return {unit: 'count', better: 'lower', read: (r) => r.counts.errors}
  const dot = metric.indexOf('.')
  const distribution = metric.slice(0, dot) as LatencyDistribution
  const key = DISTRIBUTION_STATS[metric.slice(dot + 1) as DistributionStatName]
  return {
    unit: 'ms',
    better: 'lower',
    read: (r) => {
      const summary = r.histograms[distribution]?.summary
      return summary && summary.count > 0 ? summary[key] : null
    },
  }
}

function checkMetricIds(metrics: readonly string[]): string[] {
  const known = new Set(comparisonMetricIds())
  const unknown = metrics.filter((m) => !known.has(m))
  if (unknown.length > 0) {
    throw new UsageError(`unknown metric${unknown.length > 1 ? 's' : ''} ${unknown.map((m) => `'${m}'`).join(', ')}`, [
      `use throughput, loss, errors or <${LATENCY_DISTRIBUTIONS.join('|')}>.<${Object.keys(DISTRIBUTION_STATS).join('|')}>, e.g. latency.p99`,
    ])
  }
  return [...metrics]
}

function defaultMetrics(base: BenchResult, candidate: BenchResult): string[] {
  const measured = (d: LatencyDistribution) => [base, candidate].some((r) => (r.histograms[d]?.summary.count ?? 0) > 0)
  const latency = LATENCY_DISTRIBUTIONS.filter(measured).flatMap((d) => DEFAULT_STATS.map((s) => `${d}.${s}`))
  const loss = [base, candidate].some((r) => lossFraction(r.counts) !== null) ? ['loss'] : []
  return ['throughput', ...latency, ...loss, 'errors']
}

// ---- verdicts -----------------------------------------------------------------------------------------------------

/** Percentages within this of the tolerance are on it, so 5.000000000000001% does not fail a 5% tolerance. */
const EPSILON_PCT = 1e-9

function compareFigures(
  metric: string,
  unit: ComparisonUnit,
  better: 'higher' | 'lower',
  base: number | null,
  candidate: number | null,
  tolerancePct: number,
  noiseFloor: number,
): ComparisonRow {
  const row = {metric, unit, better, base, candidate, tolerancePct}
  if (base === null || candidate === null) return {...row, delta: null, deltaPct: null, verdict: 'n/a'}
  const delta = candidate - base
  const deltaPct = base === 0 ? (delta === 0 ? 0 : null) : (delta / Math.abs(base)) * 100
  /** Positive when the candidate moved the bad way. */
  const worse = better === 'lower' ? delta : -delta
  let verdict: ComparisonVerdict
  if (noiseFloor > 0 && Math.abs(delta) <= noiseFloor + 1e-12) {
    verdict = 'within'
  } else if (deltaPct === null) {
    verdict = worse > 0 ? 'regression' : 'improvement'
  } else {
    const worsePct = better === 'lower' ? deltaPct : -deltaPct
    verdict = worsePct > tolerancePct + EPSILON_PCT ? 'regression' : worsePct < -(tolerancePct + EPSILON_PCT) ? 'improvement' : 'within'
  }
  return {...row, delta, deltaPct, verdict}
}

// ---- text ---------------------------------------------------------------------------------------------------------

export interface ComparisonFormatOptions {
  color?: boolean
}

const COLUMNS: readonly ColumnSpec[] = [
  {header: 'metric', align: 'left'},
  {header: 'base', align: 'right'},
  {header: 'candidate', align: 'right'},
  {header: 'delta', align: 'right'},
  {header: 'delta %', align: 'right'},
  {header: 'verdict', align: 'left'},
]

const VERDICT_TEXT: Record<ComparisonVerdict, string> = {regression: 'regression', improvement: 'better', within: 'ok', 'n/a': 'n/a'}

/**
 * The rows as an aligned table, header first, no trailing newline:
 *
 *   metric          base   candidate   delta  delta %  verdict
 *   throughput  50,000/s    45,000/s  -5,000/s  -10.0%  regression
 *
 * Cells are padded before they are coloured, so colour never skews the columns; without colour there are no
 * escape codes at all.
 */
export function formatComparison(rows: readonly ComparisonRow[], options: ComparisonFormatOptions = {}): string {
  const c = paint(options.color ?? false)
  const cells = rows.map((r) => [
    r.metric.replace('.', ' '),
    formatValue(r.base, r.unit),
    formatValue(r.candidate, r.unit),
    formatDelta(r.delta, r.unit),
    formatDeltaPct(r),
    VERDICT_TEXT[r.verdict],
  ])
  const table = layoutTable(COLUMNS, cells)
  const colourVerdict = (text: string, verdict: ComparisonVerdict) =>
    verdict === 'regression' ? c.red(text) : verdict === 'improvement' ? c.green(text) : verdict === 'n/a' ? c.dim(text) : text
  const lines = [
    table.header.join('  ').trimEnd(),
    ...table.rows.map((cellsOfRow, i) => {
      const verdict = rows[i].verdict
      // The verdict is the last column: trimming its padding keeps lines free of trailing spaces.
      const last = cellsOfRow.length - 1
      return [...cellsOfRow.slice(0, last), colourVerdict(cellsOfRow[last].trimEnd(), verdict)].join('  ')
    }),
  ]
  return lines.join('\n')
}

function formatValue(v: number | null, unit: ComparisonUnit): string {
  if (v === null) return '-'
  switch (unit) {
    case 'rate':
      return formatRate(v)
    case 'ms':
      return formatMs(v)
    case 'fraction':
      return formatFractionAsPercent(v)
    case 'count':
      return formatNumber(v)
  }
}

function formatDelta(delta: number | null, unit: ComparisonUnit): string {
  if (delta === null) return '-'
  if (delta === 0) return unit === 'count' ? '0' : `±${formatValue(0, unit)}`
  return `${delta > 0 ? '+' : '-'}${formatValue(Math.abs(delta), unit)}`
}

function formatDeltaPct(r: ComparisonRow): string {
  if (r.deltaPct === null) return r.delta === null ? '-' : 'new'
  return `${r.deltaPct > 0 ? '+' : r.deltaPct < 0 ? '-' : '±'}${Math.abs(r.deltaPct).toFixed(1)}%`
}

/** Loss reads as a percentage with three significant digits: 0.0042 -> 0.42%, 0.0000123 -> 0.00123%. */
function formatFractionAsPercent(v: number): string {
  return v === 0 ? '0%' : `${Number((v * 100).toPrecision(3))}%`
}
