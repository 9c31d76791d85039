/**
 * The run's counters in the Prometheus text exposition format (`--metrics 127.0.0.1:9464`, GET /metrics), from the
 * same summary the live progress line and `--json` use (writer: metrics/prometheus-text.ts).
 */
import {Families} from '../metrics/prometheus-text.js'
import type {PipelineSummary} from './runtime/run-pipeline.js'

export function prometheusText(s: PipelineSummary): string {
  const f = new Families({pipeline: s.pipeline})
  f.counter('iotd_pipeline_events_in_total', 'Records read from all sources.', s.eventsIn)
  f.counter('iotd_pipeline_source_records_total', 'Records read per source.', s.sources.map((x) => [{source: x.name, type: x.type}, x.records]))
  f.counter('iotd_pipeline_source_dead_lettered_total', 'Undecodable input per source.', s.sources.map((x) => [{source: x.name}, x.deadLettered]))
  const rule = (name: string, help: string, pick: (r: PipelineSummary['rules'][number]) => number, type: 'counter' | 'gauge' = 'counter') =>
    f[type](name, help, s.rules.map((r) => [{rule: r.name}, pick(r)]))
  rule('iotd_pipeline_rule_in_total', 'Records that matched the rule\'s FROM.', (r) => r.in)
  rule('iotd_pipeline_rule_filtered_total', 'Removed by WHERE, FILTER or an inner JOIN.', (r) => r.filtered)
  rule('iotd_pipeline_rule_rejected_total', 'Sent to the dead letter by reject:.', (r) => r.rejected)
  rule('iotd_pipeline_rule_out_total', 'Rows emitted.', (r) => r.out)
  rule('iotd_pipeline_rule_empty_total', 'Rows not sent because every column was null or unchanged (eKuiper).', (r) => r.empty)
  rule('iotd_pipeline_rule_late_dropped_total', 'Late events dropped.', (r) => r.lateDropped)
  rule('iotd_pipeline_rule_future_rejected_total', 'Events rejected by maxFutureSkew.', (r) => r.futureRejected)
  rule('iotd_pipeline_rule_windows_fired_total', 'Windows fired.', (r) => r.windowsFired)
  rule('iotd_pipeline_rule_open_windows', 'Windows open now.', (r) => r.openWindows, 'gauge')
  const sink = (name: string, help: string, pick: (k: PipelineSummary['sinks'][number]) => number | null, type: 'counter' | 'gauge' = 'counter') =>
    f[type](name, help, s.sinks.map((k) => [{sink: k.name, rule: k.rule, type: k.type}, pick(k)]))
  sink('iotd_pipeline_sink_rows_total', 'Rows offered to the sink.', (k) => k.rows)
  sink('iotd_pipeline_sink_written_total', 'Rows the sink accepted.', (k) => k.written)
  sink('iotd_pipeline_sink_batches_total', 'Batches written.', (k) => k.batches)
  sink('iotd_pipeline_sink_retries_total', 'Retries of transient failures.', (k) => k.retries)
  sink('iotd_pipeline_sink_dead_lettered_total', 'Rows refused for good.', (k) => k.deadLettered)
  sink('iotd_pipeline_sink_dropped_total', 'Rows dropped by overflow: drop.', (k) => k.dropped)
  sink('iotd_pipeline_sink_queue_depth', 'Rows waiting for the sink.', (k) => k.queued, 'gauge')
  f.gauge(
    'iotd_pipeline_sink_latency_ms',
    'Arrival to acceptance by the sink, recent samples.',
    s.sinks.flatMap((k) => [
      [{sink: k.name, quantile: '0.5'}, k.latencyP50Ms],
      [{sink: k.name, quantile: '0.99'}, k.latencyP99Ms],
    ]),
  )
  f.counter('iotd_pipeline_dead_letter_total', 'Dead-letter entries.', s.deadLetter.count)
  return f.text()
}
