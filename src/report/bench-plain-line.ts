import type {BenchSnapshot} from '../bench/run-bench.js'
import {formatDuration} from '../config/units.js'
import {formatMs, formatNumber, formatPercent, formatRate} from '../metrics/format.js'
import {paint} from './terminal.js'

/**
 * One progress line per second of `iotd bench` for logs and pipes: the same fields in the same order every time.
 *
 *   bench 12s/30s running  11/11 clients  target 10,000/s  sent 9,998/s  recv 9,998/s  latency p50 410µs p99 2.1ms
 *   max 4.0ms  dropped 0  late 0  errors 0  cpu 45%  loop p99 1.2ms                              (all on one line)
 */
export function formatBenchPlainLine(s: BenchSnapshot, opts: {color?: boolean} = {}): string {
  const c = paint(opts.color ?? false)
  const time = s.plannedMs === undefined ? formatDuration(s.elapsedMs) : `${formatDuration(s.elapsedMs)}/${formatDuration(s.plannedMs)}`
  const counter = (n: number, noun: string, tone: 'warn' | 'fail') => {
    const text = `${noun} ${formatNumber(n)}`
    return n === 0 ? text : tone === 'fail' ? c.red(text) : c.yellow(text)
  }
  const i = s.interval
  const parts = [`bench ${time}`, s.phase, `${formatNumber(s.clients.connected)}/${formatNumber(s.clients.total)} clients`]
  if (s.targetPerSec !== null) parts.push(`target ${formatRate(s.targetPerSec)}`)
  parts.push(`${s.mode === 'conn' ? 'connects' : 'sent'} ${formatRate(s.sentPerSec)}`)
  if (s.receivedPerSec !== null) parts.push(`recv ${formatRate(s.receivedPerSec)}`)
  parts.push(i.count > 0 ? `${s.headline} p50 ${formatMs(i.p50)} p99 ${formatMs(i.p99)} max ${formatMs(i.max)}` : `${s.headline} -`)
  // QoS 1/2 end to end: the broker's acknowledgements so far, beside the delivery latency.
  if (s.ack && s.ack.count > 0) parts.push(`ack p50 ${formatMs(s.ack.p50)} p99 ${formatMs(s.ack.p99)}`)
  parts.push(counter(s.counts.dropped, 'dropped', 'warn'), counter(s.counts.late, 'late', 'warn'), counter(s.counts.errors, 'errors', 'fail'))
  parts.push(`cpu ${formatPercent(s.health.cpuPercent)}`, `loop p99 ${formatMs(s.health.eventLoopLagP99Ms)}`)
  return parts.join('  ')
}
