/**
 * The per-second points `--out influxdb=URL` writes for sim and bench: the figures of each live snapshot, named as
 * their Prometheus metrics without the `iotd_<command>_` prefix (docs/metrics.md), tagged with the run.
 */
import type {BenchSnapshot} from '../bench/run-bench.js'
import type {SimSnapshot, SimSummary} from '../sim/types.js'

export interface Point {
  measurement: string
  tags: Record<string, string>
  fields: Record<string, number>
  at: number
}

/** One point per fleet: from a live snapshot each second, and from the summary once at the end (its final totals). */
export function simPoints(scenario: string, run: string, s: SimSnapshot | SimSummary): Point[] {
  const at = Date.now()
  return s.fleets.map((c) => ({
    measurement: 'iotd_sim',
    tags: {scenario, fleet: c.fleet, run},
    fields: {
      devices: c.target,
      devices_connected: c.connected,
      messages_published_total: c.published,
      messages_acked_total: c.acked,
      messages_late_total: c.late,
      messages_dropped_total: c.dropped,
      messages_suppressed_total: c.suppressed,
      publish_errors_total: c.errors,
      disconnects_total: c.disconnects,
      reconnects_total: c.reconnects,
      published_bytes_total: c.bytes,
      ...(c.commandsReceived > 0
        ? {commands_received_total: c.commandsReceived, commands_applied_total: c.commandsApplied, commands_replied_total: c.commandsReplied, commands_reply_lost_total: c.commandsReplyLost, commands_failed_total: c.commandsFailed, commands_ignored_total: c.commandsIgnored, commands_not_taken_total: c.commandsNotTaken ?? 0}
        : {}),
      ...('msgRate' in c ? {messages_per_second: (c as {msgRate: number}).msgRate} : {}),
      ...(s.publishLag.count > 0 ? {publish_lag_p50_ms: s.publishLag.p50, publish_lag_p99_ms: s.publishLag.p99} : {}),
    },
    at,
  }))
}

export function benchPoints(run: string, s: BenchSnapshot): Point[] {
  const c = s.counts
  return [
    {
      measurement: 'iotd_bench',
      tags: {mode: s.mode, run},
      fields: {
        messages_sent_total: c.sent,
        messages_acked_total: c.acked,
        messages_received_total: c.received,
        messages_dropped_total: c.dropped,
        messages_late_total: c.late,
        errors_total: c.errors,
        clients_connected: s.clients.connected,
        sent_per_second: s.sentPerSec,
        ...(s.receivedPerSec !== null ? {received_per_second: s.receivedPerSec} : {}),
        ...(s.interval.count > 0 ? {latency_p50_ms: s.interval.p50, latency_p99_ms: s.interval.p99, latency_max_ms: s.interval.max} : {}),
        cpu_percent: s.health.cpuPercent,
      },
      // The point is the second its rates and latencies describe (the live view shows each second once it ended).
      at: s.intervalStartMs,
    },
  ]
}
