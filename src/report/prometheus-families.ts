/**
 * What `--metrics` serves for sim and bench (record and replay: tools/prometheus.ts; pipeline run:
 * pipeline/metrics-text.ts): each
 * command's live snapshot and, once the run is over, its final summary, as Prometheus families under one naming
 * scheme (metrics/prometheus-text.ts, docs/metrics.md). The same names come from the snapshot and the summary, and
 * the final scrape is rendered from the summary itself, so its counters are the summary's figures.
 */
import {Families} from '../metrics/prometheus-text.js'
import type {BenchSnapshot} from '../bench/run-bench.js'
import type {FleetCounters, LatencyFigures, SimSnapshot, SimSummary} from '../sim/types.js'
import type {BenchResult} from '../bench/bench-result.js'

const QUANTILES: Array<[string, keyof LatencyFigures]> = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.99', 'p99'],
  ['0.999', 'p999'],
]

function latency(f: LatencyFigures): Array<[Record<string, string>, number | null]> {
  return QUANTILES.map(([q, k]) => [{quantile: q}, f.count > 0 ? f[k] : null])
}

/** `iotd sim`: per fleet; a snapshot while running, the summary at the end. */
export function simFamilies(scenario: string, s: SimSnapshot | SimSummary): string {
  const f = new Families({scenario})
  const per = (pick: (c: FleetCounters) => number) => s.fleets.map((c): [Record<string, string>, number] => [{fleet: c.fleet}, pick(c)])
  f.gauge('iotd_sim_devices', 'Devices the scenario runs, per fleet.', per((c) => c.target))
  f.gauge('iotd_sim_devices_connected', 'Devices connected now, per fleet.', per((c) => c.connected))
  f.counter('iotd_sim_messages_published_total', 'Messages published.', per((c) => c.published))
  f.counter('iotd_sim_messages_acked_total', 'QoS 1/2 messages acknowledged by the broker.', per((c) => c.acked))
  f.counter('iotd_sim_messages_late_total', 'Messages sent more than one period after their due time.', per((c) => c.late))
  f.counter('iotd_sim_messages_dropped_total', 'QoS 0 messages not sent because the connection was down at their due time.', per((c) => c.dropped))
  f.counter('iotd_sim_messages_suppressed_total', 'Messages suppressed by a dropout anomaly.', per((c) => c.suppressed))
  f.counter('iotd_sim_publish_errors_total', 'Publish failures.', per((c) => c.errors))
  f.counter('iotd_sim_disconnects_total', 'Connections lost while the device wanted to be up.', per((c) => c.disconnects))
  f.counter('iotd_sim_reconnects_total', 'Connections restored after a loss.', per((c) => c.reconnects))
  f.counter('iotd_sim_published_bytes_total', 'Payload bytes published.', per((c) => c.bytes))
  f.counter('iotd_sim_commands_received_total', 'Messages that arrived on command and twin subscriptions.', per((c) => c.commandsReceived))
  f.counter('iotd_sim_commands_applied_total', 'Commands whose reaction took effect.', per((c) => c.commandsApplied))
  f.counter('iotd_sim_commands_replied_total', 'Command replies and twin reports published.', per((c) => c.commandsReplied))
  f.counter('iotd_sim_commands_reply_lost_total', 'Replies and twin reports due while the device was disconnected (or with no topic): not sent.', per((c) => c.commandsReplyLost))
  f.counter('iotd_sim_commands_failed_total', 'Commands that failed (declared failure share, unusable values, cut off by the stop).', per((c) => c.commandsFailed))
  f.counter('iotd_sim_commands_ignored_total', 'Messages on command subscriptions that no rule matched.', per((c) => c.commandsIgnored))
  f.counter('iotd_sim_commands_not_taken_total', 'Commands that reached a device going down (a commanded reboot, or the stop): received, not taken.', per((c) => c.commandsNotTaken ?? 0))
  f.gauge('iotd_sim_publish_lag_ms', 'Send time minus due time (while running: the last second; at the end: the whole run).', latency(s.publishLag))
  f.gauge('iotd_sim_elapsed_seconds', 'Time since the run started.', s.elapsedMs / 1000)
  return f.text()
}

/**
 * `iotd bench`: the counts of the measured window (warm-up excluded). While running from the snapshot, at the end
 * the result's counts (null figures, e.g. acks at QoS 0, are left out) with the last snapshot's latency.
 */
export function benchFamilies(s: BenchSnapshot, result?: BenchResult): string {
  const f = new Families({mode: s.mode})
  const c = s.counts
  const r = result?.counts
  const pick = (live: number, final: number | null | undefined): number | null => (result ? (final ?? null) : live)
  f.counter('iotd_bench_messages_planned_total', 'Sends the schedule called for (connections in conn mode).', pick(c.planned, r?.planned))
  f.counter('iotd_bench_messages_sent_total', 'Messages sent in the measured window.', pick(c.sent, r?.sent))
  f.counter('iotd_bench_messages_acked_total', 'PUBACK/PUBCOMP received (CONNACKs in conn mode).', pick(c.acked, r?.acked))
  f.counter('iotd_bench_messages_received_total', 'Messages the subscribers received.', pick(c.received, r?.received))
  f.counter('iotd_bench_messages_duplicated_total', 'Deliveries seen more than once.', pick(c.duplicates, r?.duplicated))
  f.counter('iotd_bench_messages_dropped_total', 'Sends that could not leave on time and were not sent (open model).', pick(c.dropped, r?.dropped))
  f.counter('iotd_bench_messages_late_total', 'Sends that left more than one interval after their intended time.', pick(c.late, r?.late))
  f.counter('iotd_bench_errors_total', 'Connect, publish and subscribe failures.', pick(c.errors, r?.errors))
  f.gauge('iotd_bench_clients_connected', 'Clients connected now.', s.clients.connected)
  f.gauge('iotd_bench_sent_per_second', 'Send rate over the last second.', result ? result.rate.achievedPerSec : s.sentPerSec)
  f.gauge('iotd_bench_latency_ms', `Headline latency so far (${s.headline}), from the intended send time.`, latency(s.cumulative))
  f.gauge('iotd_bench_cpu_percent', 'CPU of the bench process, percent of one core.', s.health.cpuPercent)
  return f.text()
}
