import type {ChalkInstance} from 'chalk'
import {formatDuration} from '../config/units.js'
import type {FleetCounters, SimSnapshot, SimSummary} from '../sim/types.js'
import {formatBytes, formatMs, formatNumber, formatPercent, formatRate} from '../metrics/format.js'
import {paint} from './terminal.js'
import {commandFigures, type CommandCount} from './command-figures.js'

export interface PlainLineOptions {
  /** Colour non-zero problem counters; only for a terminal (the plain reporter decides). Default false. */
  color?: boolean
  /**
   * The run's closing line (see closingSimSnapshot): its lag and client figures would be the last interval's, which
   * the command does not have (the summary has the whole run's), so they give way to `run ended` / `interrupted`.
   */
  closing?: 'ended' | 'interrupted'
}

/**
 * One progress line per second for logs and pipes: no cursor movement, the same fields in the same order every
 * time so lines can be compared by eye or grepped, and the figures a person checks first (time, stage, connected,
 * rate) at the start.
 *
 *   sim 12.3s/20s  steady  84/84 connected  72.0 msg/s  1,440 published  0 late  0 dropped  0 errors  0 reconnects
 *   lag p99 3.1ms  ack p99 4.0ms  cpu 12%  rss 98 MiB  loop p99 2.1ms        (all on one line)
 */
export function formatSimPlainLine(s: SimSnapshot, opts: PlainLineOptions = {}): string {
  const c = paint(opts.color ?? false)
  const t = s.totals
  const time = s.durationMs === undefined ? formatDuration(s.elapsedMs) : `${formatDuration(s.elapsedMs)}/${formatDuration(s.durationMs)}`
  const counter = (n: number, noun: string, tone: 'warn' | 'fail') => {
    const text = `${formatNumber(n)} ${noun}`
    if (n === 0) return text
    return tone === 'fail' ? c.red(text) : c.yellow(text)
  }
  const parts = [
    `sim ${time}`,
    s.stage,
    `${formatNumber(t.connected)}/${formatNumber(t.target)} connected`,
    formatRate(t.msgRate, 'msg'),
    `${formatNumber(t.published)} published`,
    counter(t.late, 'late', 'warn'),
    counter(t.dropped, 'dropped', 'warn'),
    counter(t.errors, 'errors', 'fail'),
    `${formatNumber(t.reconnects)} reconnects`,
  ]
  // Only runs whose devices got commands say so: the line of every other run stays as it was.
  if (t.commandsReceived > 0) parts.push(commandsPart(t, c))
  if (opts.closing) {
    parts.push(opts.closing === 'ended' ? 'run ended' : 'interrupted')
    return parts.join('  ')
  }
  parts.push(`lag p99 ${s.publishLag.count > 0 ? formatMs(s.publishLag.p99) : '-'}`)
  if (s.ackLatency.count > 0) parts.push(`ack p99 ${formatMs(s.ackLatency.p99)}`)
  parts.push(`cpu ${formatPercent(s.health.cpuPercent)}`, `rss ${formatBytes(s.health.rssBytes)}`, `loop p99 ${formatMs(s.health.eventLoopLagP99Ms)}`)
  return parts.join('  ')
}

/**
 * `8 commands (2 applied, 5 failed, 1 ignored; 5 replied, 1 reply not sent)`: received = applied + failed + ignored
 * (+ `N not taken` by a device going down, + `N waiting`, reactions still waiting for their latency, while there are
 * any), the summary's figures and words;
 * then the replies, which reached the broker or were not sent.
 */
function commandsPart(t: FleetCounters, c: ChalkInstance): string {
  const {fate, replies} = commandFigures(t)
  const text = (x: CommandCount) => {
    const figure = `${formatNumber(x.count)} ${x.noun}`
    return x.warn ? c.yellow(figure) : figure
  }
  const [received, ...rest] = fate
  return `${formatNumber(received.count)} commands (${rest.map(text).join(', ')}; ${replies.map(text).join(', ')})`
}

/**
 * The figures of the interval between the last progress line and the stop, so the plain output ends at the
 * summary's totals (the engine's last snapshot comes up to a second before the stop, and the messages after it were
 * in the summary only). The counters are the summary's; the rate is this interval's (its messages over its time, so
 * rate × time adds the interval's count); the connected gauge is the summary's, taken as the run stopped.
 */
export function closingSimSnapshot(summary: SimSummary, last?: SimSnapshot): SimSnapshot {
  const seconds = (summary.elapsedMs - (last?.elapsedMs ?? 0)) / 1000
  const rate = (now: FleetCounters, before: FleetCounters | undefined) => (seconds > 0 ? Math.max(0, now.published - (before?.published ?? 0)) / seconds : 0)
  return {
    elapsedMs: summary.elapsedMs,
    durationMs: last?.durationMs,
    broker: summary.broker,
    fleets: summary.fleets.map((f) => ({...f, msgRate: rate(f, last?.fleets.find((b) => b.fleet === f.fleet))})),
    totals: {...summary.totals, msgRate: rate(summary.totals, last?.totals)},
    publishLag: summary.publishLag,
    ackLatency: summary.ackLatency,
    health: summary.health,
    stage: last?.stage ?? 'steady',
  }
}
