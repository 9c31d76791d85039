/**
 * Text for people at the end of tail/record/replay (stdout) and the replay progress line (stderr). Pure.
 */
import {formatDuration} from '../config/units.js'
import {nothingReceived, type NothingDone} from '../pipeline/summary-text.js'
import {formatBytes, formatMs, formatNumber, formatRate} from '../metrics/format.js'
import {progressBar} from '../report/progress-bar.js'
import type {RecordSummary} from './record.js'
import type {ReplayProgress, ReplaySummary} from './replay.js'
import type {TailSummary} from './tail.js'

export function formatReplaySummary(s: ReplaySummary): string {
  const lines: string[] = []
  const how = s.mode === 'max' ? 'at maximum speed' : s.mode === 'rate' ? `at ${formatRate(s.rate ?? 0, 'msg')}` : `at ${s.speed}×`
  lines.push(`${s.interrupted ? 'replay interrupted' : s.error ? 'replay stopped' : 'replayed'} ${s.file} to ${s.broker} ${how}${s.loops > 1 ? `, ${s.loops} passes` : ''}`)
  lines.push(`  rows       ${formatNumber(s.rows)}`)
  lines.push(`  published  ${formatNumber(s.published)} in ${formatDuration(s.durationMs)} (${formatRate(s.achievedRate, 'msg')})`)
  lines.push(`  skipped    ${formatNumber(s.skipped)}${s.skipped > 0 ? `: ${Object.entries(s.skippedReasons).map(([k, v]) => `${formatNumber(v)} ${k}`).join(', ')}` : ''}`)
  // rows = published + skipped + not sent: what was read and not published is named, not left to subtraction.
  if (s.notSent > 0 || s.interrupted || s.error) lines.push(`  not sent   ${formatNumber(s.notSent)}${s.notSent > 0 ? `: read, but not published ${s.interrupted ? 'before the interrupt' : s.error ? 'before it stopped' : 'when the replay stopped'} (unwritten, or QoS 1/2 not yet acknowledged)` : ''}`)
  if (s.connection.losses > 0) {
    const times = s.connection.losses === 1 ? 'once' : `${formatNumber(s.connection.losses)} times`
    const parts = [`  connection lost ${times}, ${formatDuration(s.connection.outageMs)} without the broker`]
    if (s.connection.retried > 0) parts.push(`${formatNumber(s.connection.retried)} messages written again after reconnecting (unacknowledged or unwritten at the loss; a subscriber may see some twice)`)
    if (s.timing) parts.push('messages due meanwhile went out late and are in the timing error')
    lines.push(parts.join('; '))
  }
  if (s.error) lines.push(`  stopped    ${s.error}`)
  if (s.outOfOrder > 0) lines.push(`  out of order ${formatNumber(s.outOfOrder)} rows earlier than a row before them (sent at once)`)
  if (s.timing) lines.push(`  timing error p50 ${formatMs(s.timing.p50)}  p99 ${formatMs(s.timing.p99)}  max ${formatMs(s.timing.max)}`)
  if (s.badRows.length > 0) {
    lines.push('  bad rows:')
    for (const b of s.badRows.slice(0, 10)) lines.push(`    row ${b.row}: ${b.reason}`)
    const more = s.skipped - Object.entries(s.skippedReasons).filter(([k]) => /--start|--end|no topic/.test(k)).reduce((a, [, v]) => a + v, 0) - Math.min(10, s.badRows.length)
    if (more > 0) lines.push(`    … and ${formatNumber(more)} more`)
  }
  return `${lines.join('\n')}\n`
}

/** `[████░░░░] 45%  1.2 GB / 2.6 GB  ETA 3m10s  12,345 msg/s`, ETA by bytes read. */
export function formatReplayProgress(p: ReplayProgress, width = 80): string {
  const rate = p.elapsedMs > 0 ? (p.published * 1000) / p.elapsedMs : 0
  if (p.totalBytes === undefined || p.totalBytes === 0) {
    return `${formatNumber(p.published)} published  ${formatRate(rate, 'msg')}  ${formatBytes(p.bytesRead)} read  ${formatDuration(p.elapsedMs)}`
  }
  const fraction = Math.min(1, p.bytesRead / p.totalBytes)
  const eta = fraction > 0 ? (p.elapsedMs * (1 - fraction)) / fraction : Number.NaN
  const tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatBytes(p.bytesRead)} / ${formatBytes(p.totalBytes)}  ETA ${Number.isFinite(eta) ? formatDuration(eta) : '?'}  ${formatRate(rate, 'msg')}`
  const bar = progressBar(fraction, Math.max(10, Math.min(30, width - tail.length - 2)))
  return `${bar.filled}${bar.empty}${tail}`
}

/**
 * Why a record or tail that listened its whole --duration and received nothing failed: such a run did nothing it was
 * asked, and says so with exit 1, as a pipeline run, a bench subscription and a sim do. Undefined for any other run
 * (something arrived, the user stopped it, or it failed on its own error).
 */
export function nothingReceivedReason(s: {received: number; interrupted: boolean; error?: string; durationMs: number; topics: string[]}): NothingDone | undefined {
  if (s.received > 0 || s.interrupted || s.error) return undefined
  return nothingReceived(s.durationMs, `no message arrived on ${s.topics.join(' ')}`)
}

export function formatRecordSummary(s: RecordSummary): string {
  const files = s.files.length === 1 ? s.files[0] : `${s.files.length} files (${s.files[0]} … ${s.files.at(-1)})`
  const head = s.error ? 'recording failed: ' : s.interrupted ? 'recording stopped: ' : ''
  const lines = [`${head}recorded ${formatNumber(s.recorded)} messages (${formatBytes(s.bytes)}) from ${s.broker} in ${formatDuration(s.durationMs)} -> ${files}`]
  // Every message received is accounted for: recorded, left out by --where, or not recorded (and not acknowledged).
  if (s.received !== s.recorded) {
    const parts = [`${formatNumber(s.recorded)} recorded`]
    if (s.filtered > 0) parts.push(`${formatNumber(s.filtered)} left out by --where`)
    if (s.notRecorded > 0) parts.push(`${formatNumber(s.notRecorded)} not recorded (${s.error ? 'after the error' : 'arrived after the stop'}; not acknowledged)`)
    lines.push(`  received ${formatNumber(s.received)}: ${parts.join(', ')}`)
  }
  return `${lines.join('\n')}\n`
}

export function formatTailSummary(s: TailSummary): string {
  const skipped = s.skipped > 0 ? `, ${formatNumber(s.skipped)} not shown (flood)` : ''
  const filtered = s.matched !== s.received ? `, ${formatNumber(s.matched)} matched` : ''
  return `${formatNumber(s.received)} messages${filtered}${skipped} in ${formatDuration(s.durationMs)}\n`
}
