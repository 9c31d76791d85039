import {formatDuration} from '../config/units.js'
import type {SimSnapshot} from '../sim/types.js'
import {formatBytes, formatMs, formatNumber, formatPercent, formatRate} from '../metrics/format.js'
import {paint} from './terminal.js'
import {repliesNotSent} from './sim-summary.js'

export interface PlainLineOptions {
  /** Colour non-zero problem counters; only for a terminal (the plain reporter decides). Default false. */
  color?: boolean
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
    `lag p99 ${s.publishLag.count > 0 ? formatMs(s.publishLag.p99) : '-'}`,
  ]
  // Only runs whose devices got commands say so: the line of every other run stays as it was.
  if (t.commandsReceived > 0) parts.splice(9, 0, `${formatNumber(t.commandsReceived)} commands (${formatNumber(t.commandsApplied)} applied, ${formatNumber(t.commandsReplied)} replied, ${t.commandsReplyLost > 0 ? `${repliesNotSent(t.commandsReplyLost)}, ` : ''}${formatNumber(t.commandsFailed)} failed)`)
  if (s.ackLatency.count > 0) parts.push(`ack p99 ${formatMs(s.ackLatency.p99)}`)
  parts.push(`cpu ${formatPercent(s.health.cpuPercent)}`, `rss ${formatBytes(s.health.rssBytes)}`, `loop p99 ${formatMs(s.health.eventLoopLagP99Ms)}`)
  return parts.join('  ')
}
