import type {ChalkInstance} from 'chalk'
import {LATENCY_DISTRIBUTIONS, type LatencyDistribution} from '../metrics/observation.js'
import {thresholdLines} from './verdict-lines.js'
import {formatDuration} from '../config/units.js'
import {redactUrl} from '../net/mqtt-endpoint.js'
import {headlineDistribution, lossFraction, measuredWindowMs, type BenchResult, type LatencySummaryMs} from '../bench/bench-result.js'
import {CPU_SATURATION_SHARE, EVENT_LOOP_LAG_LIMIT_MS} from './client-health.js'
import {formatBytes, formatMs, formatNumber, formatPercent, formatRate} from '../metrics/format.js'
import {plural} from './sim-summary.js'
import {paint} from './terminal.js'
export {thresholdHeadline} from './verdict-lines.js'
import {layoutTable, type ColumnSpec} from './text-table.js'

/**
 * The end-of-run summary of `iotd bench`, also what `iotd report show` prints: verdicts first (thresholds, then
 * what the counts say went wrong), then throughput, the latency spectrum, delivery, the broker's own count and
 * the client's health. Pure: everything comes from the saved result, so a re-rendered result reads exactly like
 * the run's own summary.
 */

export interface BenchSummaryOptions {
  color: boolean
}

/** The broker's count and the client's may differ this much (percent) before the summary warns. */
export const BROKER_DISAGREEMENT_PCT = 1
/** Dropped sends above this share of the planned ones: the client could not keep the schedule. */
export const DROPPED_SHARE = 0.01
/**
 * Late sends above this share of those sent: the run did not keep its schedule, and the summary says what held it
 * back. Below it, lateness is timer jitter (a GC pause, a busy tick) that the corrected latency already shows.
 */
export const LATE_SHARE = 0.1
/** Late sends above this share of those sent get a line of their own; fewer are only counted (delivery line). */
export const LATE_NOTICE_SHARE = 0.01
/** An in-flight window full for this share of the publishers' time (percent) means the broker held back acks. */
export const BACK_PRESSURE_PCT = 5
/** A merged result whose shards measured together for less than this share of its span did not run together. */
const COMMON_WINDOW_SHARE = 0.9

const INDENT = '  '
const LABEL_WIDTH = 12

export type BenchVerdictLevel = 'ok' | 'warn' | 'fail'
export interface BenchVerdict {
  level: BenchVerdictLevel
  text: string
}

/** Column titles of the latency table, by distribution. */
const DISTRIBUTION_TITLES: Record<LatencyDistribution, string> = {
  latency: 'corrected',
  uncorrected: 'uncorrected',
  ack: 'ack',
  connect: 'connect',
}

/** k6's avg/min/med/max/p90/p95 and the tail beyond, in order of size (p95 is absent from older results). */
const SPECTRUM: ReadonlyArray<{label: string; of: (s: LatencySummaryMs) => number | undefined}> = [
  {label: 'min', of: (s) => s.min},
  {label: 'mean', of: (s) => s.mean},
  {label: 'p50', of: (s) => s.p50},
  {label: 'p90', of: (s) => s.p90},
  {label: 'p95', of: (s) => s.p95},
  {label: 'p99', of: (s) => s.p99},
  {label: 'p99.9', of: (s) => s.p999},
  {label: 'p99.99', of: (s) => s.p9999},
  {label: 'max', of: (s) => s.max},
]

export function formatBenchSummary(result: BenchResult, options: BenchSummaryOptions): string {
  const c = paint(options.color)
  const lines: string[] = [...header(result, c)]

  lines.push(...thresholdSection(result, c, options.color))
  for (const v of benchVerdicts(result)) lines.push(`${INDENT}${mark(v.level, c)} ${v.text}`)

  lines.push('')
  lines.push(...throughputLines(result, c))
  lines.push('')
  lines.push(...latencyLines(result, c))
  lines.push('')
  lines.push(...deliveryLines(result, c))
  lines.push(...brokerLines(result, c))
  lines.push(...healthLines(result, c))
  return lines.join('\n')
}

// ---- header -------------------------------------------------------------------------------------------------------

const MODE_TEXT: Record<BenchResult['meta']['mode'], string> = {
  e2e: 'end-to-end',
  pub: 'publish-only',
  sub: 'subscribe-only',
  conn: 'connect',
}

function header(result: BenchResult, c: ChalkInstance): string[] {
  const m = result.meta
  const brokers = m.brokers.map(redactUrl).join(', ')
  const first = `${c.bold('iotd bench')}  ${c.bold(MODE_TEXT[m.mode])}  ${c.dim('broker')} ${brokers}`
  // Subscribe-only listens to someone else's load: the payload size and the pace are theirs, not iotd's.
  const setup =
    m.mode === 'conn'
      ? `MQTT ${m.mqttVersion}, ${plural(m.clients.total, 'connection')}`
      : m.mode === 'sub'
        ? `MQTT ${m.mqttVersion}, QoS ${m.qos}, ${plural(m.clients.subscribers, 'subscriber')}`
        : `MQTT ${m.mqttVersion}, QoS ${m.qos}, ${formatNumber(m.payloadBytes)} B payloads, ${plural(m.clients.publishers, 'publisher')}, ${plural(m.clients.subscribers, 'subscriber')}`
  const target =
    m.mode === 'sub'
      ? "listening to another publisher's load"
      : m.target.model === 'open'
        ? `target ${m.target.text} (open model)`
        : `saturation (--rate ${m.target.text}, ${formatNumber(m.target.inflight)} in flight per client)`
  const warmup = m.warmupMs > 0 ? ` after ${formatDuration(m.warmupMs)} warm-up` : ''
  const lines = [first, `${INDENT}${setup}`, `${INDENT}${target}; measured ${formatDuration(measuredWindowMs(m))}${warmup}`]
  // Shards are counted from 1 here, as --shard 2/3 names them (the result stores the 0-based index).
  if (m.shard) lines.push(`${INDENT}shard ${m.shard.index + 1}/${m.shard.count} of a larger run: merge the shards with iotd report merge (it judges the thresholds)`)
  if (m.merge) {
    const shards = m.merge.shards.length > 0 ? ` (shards ${m.merge.shards.map((s) => s.index + 1).join(', ')} of ${m.merge.shards[0].count})` : ''
    lines.push(`${INDENT}merged from ${plural(m.merge.results, 'result')}${shards}; all measuring together for ${formatDuration(m.merge.commonWindowMs)}`)
  }
  return lines
}

/**
 * The threshold lines. A shard cannot measure what needs every shard (loss: a shard's subscribers hear all shards,
 * so its expected count is known only after the merge): such a threshold is not judged here, and is said to be
 * deferred to iotd report merge, not marked failed.
 */
function thresholdSection(result: BenchResult, c: ChalkInstance, color: boolean): string[] {
  if (!result.meta.shard) return thresholdLines(result.thresholds, c, color)
  const judged = result.thresholds.filter((v) => v.observed !== null)
  const deferred = result.thresholds.filter((v) => v.observed === null)
  if (deferred.length === 0) return thresholdLines(judged, c, color)
  const width = Math.max(...deferred.map((v) => v.threshold.length))
  const later = deferred.map((v) => `${INDENT}${INDENT}${c.dim('–')} ${v.threshold.padEnd(width)}  ${c.dim('not judged here: iotd report merge judges it on the merged shards')}`)
  if (judged.length === 0) return [`${INDENT}${c.dim(`${plural(deferred.length, 'threshold')} deferred to the merge`)}`, ...later]
  return [...thresholdLines(judged, c, color), ...later]
}

// ---- verdicts -----------------------------------------------------------------------------------------------------

/**
 * What the counts say went wrong, worst first; empty when nothing did. Shared by the text summary and the HTML
 * report so both word a problem the same way.
 */
export function benchVerdicts(result: BenchResult): BenchVerdict[] {
  const k = result.counts
  const noun = result.meta.mode === 'conn' ? 'connection' : 'message'
  const out: BenchVerdict[] = []
  if (k.errors > 0) out.push({level: 'fail', text: `${plural(k.errors, 'client error')} (connect, publish or subscribe failures)`})
  if (k.lost !== null && k.lost > 0) {
    out.push({level: 'fail', text: `${plural(k.lost, `${noun}`)} lost (${lossPercent(result)} of ${formatNumber(k.expected ?? 0)} expected)`})
  }
  const down = droppedDownOf(result)
  if (down > 0) out.push({level: 'warn', text: `${plural(down, 'send')} dropped: the broker connection was down when they fell due`})
  if (k.dropped - down > 0) out.push({level: 'warn', text: `${plural(k.dropped - down, 'send')} dropped: they could not leave on time and were not sent`})
  if (k.sent > 0 && k.late / k.sent > LATE_NOTICE_SHARE) {
    out.push({level: 'warn', text: `${plural(k.late, 'send')} (${formatPercent((k.late / k.sent) * 100)} of those sent) late by more than one interval: the corrected latency includes that wait`})
  }
  const broker = brokerDisagreement(result)
  if (broker) out.push({level: 'warn', text: broker})
  const merge = result.meta.merge
  const missing = merge?.missingShards ?? []
  if (missing.length > 0) {
    out.push({
      level: 'fail',
      text: `partial merge: shard${missing.length === 1 ? '' : 's'} ${missing.map((s) => s.index + 1).join(', ')} of ${missing[0].count} missing; the counts cover only the others and loss is unknown`,
    })
  }
  const span = measuredWindowMs(result.meta)
  if (merge && span > 0 && merge.commonWindowMs < COMMON_WINDOW_SHARE * span) {
    out.push({
      level: 'warn',
      text: `the merged results measured together for only ${formatDuration(merge.commonWindowMs)} of ${formatDuration(span)}: summed rates overstate a run whose shards did not run at once`,
    })
  }
  const bottleneck = bottleneckText(result)
  if (bottleneck) out.push({level: 'warn', text: bottleneck})
  return out
}

/**
 * What held the run back, or undefined when nothing did. A client that is saturated (CPU, event-loop lag: the same
 * limits as `iotd sim`, report/client-health.ts) measures itself: "the client, not the broker, was the bottleneck".
 * Sends that fell behind their schedule (many dropped or late) while the client had room are the broker pushing
 * back when the in-flight window was full (it held back acknowledgements), and otherwise the connection's.
 */
export function bottleneckText(result: BenchResult): string | undefined {
  const h = result.health
  const cores = Math.max(1, h.cores)
  const client: string[] = []
  if (h.cpuPercent > CPU_SATURATION_SHARE * 100 * cores) client.push(`CPU ${formatPercent(h.cpuPercent)} of ${cores * 100}% available`)
  if (h.eventLoopLagP99Ms > EVENT_LOOP_LAG_LIMIT_MS) client.push(`event-loop lag p99 ${formatMs(h.eventLoopLagP99Ms)} > ${EVENT_LOOP_LAG_LIMIT_MS}ms`)
  const k = result.counts
  const behind: string[] = []
  // Sends dropped while the connection was down say nothing about the pace of the client or the broker.
  const droppedBehind = k.dropped - droppedDownOf(result)
  if (k.planned > 0 && droppedBehind / k.planned > DROPPED_SHARE) behind.push(`${formatPercent((droppedBehind / k.planned) * 100)} of planned sends dropped`)
  if (k.sent > 0 && k.late / k.sent > LATE_SHARE) behind.push(`${formatPercent((k.late / k.sent) * 100)} of sends late`)
  if (client.length > 0) return `the client, not the broker, was the bottleneck (${[...client, ...behind].join('; ')}): these figures describe iotd more than the broker`
  if (behind.length === 0) return undefined
  const full = h.inflightFullPct ?? 0
  if (full >= BACK_PRESSURE_PCT) {
    return `the broker pushed back (${behind.join('; ')}; the in-flight window was full ${formatPercent(full)} of the time, waiting for acknowledgements; client CPU ${formatPercent(h.cpuPercent)}): the figures are the broker's under this load`
  }
  return `sends fell behind their schedule (${behind.join('; ')}) while the client had CPU to spare (${formatPercent(h.cpuPercent)}): the connection or the broker's socket held them back`
}

/** Of the dropped sends, those that fell due while the broker connection was down (0 in results from before it was counted). */
function droppedDownOf(result: BenchResult): number {
  return Math.min(result.counts.dropped, Math.max(0, result.counts.droppedDown ?? 0))
}

function brokerDisagreement(result: BenchResult): string | undefined {
  const b = result.brokerCount
  if (!b || b.disagreementPct === null || Math.abs(b.disagreementPct) <= BROKER_DISAGREEMENT_PCT) return undefined
  return `the broker counted ${formatNumber(b.received)} messages received, the client ${formatNumber(b.client)} sent (${signedPct(b.disagreementPct)}, more than ±${BROKER_DISAGREEMENT_PCT}%)`
}

// ---- sections -----------------------------------------------------------------------------------------------------

function throughputLines(result: BenchResult, c: ChalkInstance): string[] {
  const {rate, counts: k} = result
  const noun = result.meta.mode === 'conn' ? 'connections' : 'messages'
  const unit = result.meta.mode === 'conn' ? 'conn' : 'msg'
  const achieved = formatRate(rate.achievedPerSec, unit)
  let first: string
  if (rate.targetPerSec === null) {
    first = `${c.bold(achieved)} achieved (saturation: no target rate)`
  } else {
    // One decimal, so 99.95% of target does not read as 100%.
    const share = rate.targetPerSec > 0 ? ` (${((rate.achievedPerSec / rate.targetPerSec) * 100).toFixed(1)}% of target)` : ''
    const shortfall = rate.targetPerSec > 0 && rate.achievedPerSec < 0.99 * rate.targetPerSec
    first = `target ${formatRate(rate.targetPerSec, unit)}  achieved ${shortfall ? c.yellow(achieved) : c.bold(achieved)}${share}`
  }
  if (rate.receivedPerSec !== null) first += `  received ${formatRate(rate.receivedPerSec, unit)}`
  // Deliveries that trailed the last send by more than a blink: the received rate is over that longer time.
  const trailMs = rate.receivingMs === undefined ? 0 : rate.receivingMs - measuredWindowMs(result.meta)
  if (trailMs >= 100) first += ` over ${formatDuration(rate.receivingMs as number)} (the last delivery ${formatDuration(trailMs)} after the window)`
  const received = k.received === null ? '' : `${formatNumber(k.received)} received${k.expected === null ? '' : ` of ${formatNumber(k.expected)} expected`}`
  if (result.meta.mode === 'sub') {
    return [labelled('throughput', `${c.bold(formatRate(rate.receivedPerSec ?? 0, unit))} received`, c), labelled('', `${received} ${noun}`, c)]
  }
  const sent = `${formatNumber(k.sent)} of ${formatNumber(k.planned)} planned ${noun} sent`
  const acked = k.acked === null ? '' : `, ${formatNumber(k.acked)} ${result.meta.mode === 'conn' ? 'accepted' : 'acknowledged'}`
  return [labelled('throughput', first, c), labelled('', `${sent}${acked}${received ? `, ${received}` : ''}`, c)]
}

/** One table, a column per distribution the run recorded, a row per percentile: the spectrum side by side. */
function latencyLines(result: BenchResult, c: ChalkInstance): string[] {
  // A distribution the mode records but that stayed empty (connect times when connecting fell in the warm-up) is
  // left out rather than shown as a column of dashes.
  const present = LATENCY_DISTRIBUTIONS.filter((d) => (result.histograms[d]?.summary.count ?? 0) > 0)
  if (present.length === 0) return [labelled('latency', 'no latency recorded', c)]
  const columns: ColumnSpec[] = [
    {header: 'latency'.padEnd(LABEL_WIDTH), align: 'left'},
    ...present.map((d) => ({header: DISTRIBUTION_TITLES[d], align: 'right' as const})),
  ]
  const summaries = present.map((d) => result.histograms[d]!.summary)
  const cell = (s: LatencySummaryMs, v: number | undefined) => (s.count === 0 || v === undefined ? '-' : formatMs(v))
  const rows = [
    ...SPECTRUM.map(({label, of}) => [`  ${label}`, ...summaries.map((s) => cell(s, of(s)))]),
    ['  samples', ...summaries.map((s) => formatNumber(s.count))],
  ]
  const table = layoutTable(columns, rows)
  const headline = present.indexOf(headlineDistribution(result.meta.mode))
  const join = (cells: string[]) => `${INDENT}${cells.join('  ')}`.trimEnd()
  const lines = [
    c.dim(join(table.header)),
    ...table.rows.map((cells) => join(cells.map((text, i) => (i > 0 && i - 1 === headline ? c.bold(text) : text)))),
  ]
  if (present.includes('latency')) {
    const uncorrected = present.includes('uncorrected') ? '; uncorrected: from the actual send' : ''
    lines.push(labelled('', c.dim(`corrected: from the intended send time (free of coordinated omission)${uncorrected}`), c))
  }
  return lines
}

function deliveryLines(result: BenchResult, c: ChalkInstance): string[] {
  const k = result.counts
  const coloured = (n: number | null, colour: (s: string) => string) => (n === null ? c.dim('n/a') : n > 0 ? colour(formatNumber(n)) : formatNumber(n))
  const lost = k.lost === null ? c.dim('n/a') : `${coloured(k.lost, c.red)}${k.lost > 0 ? ` (${lossPercent(result)})` : ''}`
  const delivery =
    k.lost === null && k.duplicated === null && k.reordered === null
      ? `${c.dim('not measured (no receiver in this mode)')}  dropped ${coloured(k.dropped, c.yellow)}  late ${coloured(k.late, c.yellow)}`
      : `lost ${lost}  duplicated ${coloured(k.duplicated, c.yellow)}  reordered ${coloured(k.reordered, c.yellow)}  dropped ${coloured(k.dropped, c.yellow)}  late ${coloured(k.late, c.yellow)}`
  return [labelled('delivery', delivery, c), labelled('errors', coloured(k.errors, c.red), c)]
}

function brokerLines(result: BenchResult, c: ChalkInstance): string[] {
  const b = result.brokerCount
  if (!b) return []
  const agreement = b.disagreementPct === null ? '' : `  (${signedPct(b.disagreementPct)})`
  // A shard's window of the broker's count holds every shard's messages; the merge compares it with all of them.
  const who = result.meta.shard ? 'this shard (the broker counts every shard: compared after iotd report merge)' : 'the client'
  const stale = b.baseline === 'retained' && !result.meta.shard ? " (not compared: the count before the run was the broker's retained value, of unknown age)" : ''
  const text = `${formatNumber(b.received)} received by the broker vs ${formatNumber(b.client)} sent by ${who}${agreement}${stale}  ${c.dim(b.source)}`
  const warn = b.disagreementPct !== null && Math.abs(b.disagreementPct) > BROKER_DISAGREEMENT_PCT
  return [labelled('broker', warn ? `${c.yellow('⚠')} ${text}` : text, c)]
}

function healthLines(result: BenchResult, c: ChalkInstance): string[] {
  const h = result.health
  const cores = Math.max(1, h.cores)
  const cpu = `cpu ${formatPercent(h.cpuPercent)} of ${cores * 100}% (${plural(cores, 'core')})`
  return [labelled('client', `${cpu}  rss ${formatBytes(h.rssBytes)}  event-loop lag p99 ${formatMs(h.eventLoopLagP99Ms)}`, c)]
}

// ---- small helpers ------------------------------------------------------------------------------------------------

function lossPercent(result: BenchResult): string {
  const f = lossFraction(result.counts)
  return f === null ? 'n/a' : f === 0 ? '0%' : `${Number((f * 100).toPrecision(3))}%`
}

function signedPct(pct: number): string {
  return `${pct > 0 ? '+' : pct < 0 ? '-' : '±'}${Math.abs(pct).toFixed(2)}%`
}

function labelled(label: string, text: string, c: ChalkInstance): string {
  return `${INDENT}${c.dim(label.padEnd(LABEL_WIDTH))}  ${text}`
}

function mark(level: BenchVerdictLevel, c: ChalkInstance): string {
  if (level === 'ok') return c.green('✓')
  if (level === 'fail') return c.red('✗')
  return c.yellow('⚠')
}
