/**
 * The run's counters in the Prometheus text exposition format (`--metrics 127.0.0.1:9464`, GET /metrics), from the
 * same summary the live progress line and `--json` use.
 */
import type {PipelineSummary} from './runtime/run-pipeline.js'

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

export function prometheusText(s: PipelineSummary): string {
  const out: string[] = []
  const metric = (name: string, type: 'counter' | 'gauge', help: string, rows: [Record<string, string>, number | null][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of rows) {
      if (value === null) continue
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${label(v)}"`)
        .join(',')
      out.push(`${name}${l ? `{${l}}` : ''} ${value}`)
    }
  }
  const p = {pipeline: s.pipeline}
  metric('iotd_pipeline_events_in_total', 'counter', 'Records read from all sources.', [[p, s.eventsIn]])
  metric('iotd_pipeline_source_records_total', 'counter', 'Records read per source.', s.sources.map((x) => [{...p, source: x.name, type: x.type}, x.records]))
  metric('iotd_pipeline_source_dead_lettered_total', 'counter', 'Undecodable input per source.', s.sources.map((x) => [{...p, source: x.name}, x.deadLettered]))
  const rule = (name: string, help: string, pick: (r: PipelineSummary['rules'][number]) => number, type: 'counter' | 'gauge' = 'counter') =>
    metric(name, type, help, s.rules.map((r) => [{...p, rule: r.name}, pick(r)]))
  rule('iotd_pipeline_rule_in_total', 'Records that matched the rule\'s FROM.', (r) => r.in)
  rule('iotd_pipeline_rule_filtered_total', 'Removed by WHERE, FILTER or an inner JOIN.', (r) => r.filtered)
  rule('iotd_pipeline_rule_rejected_total', 'Sent to the dead letter by reject:.', (r) => r.rejected)
  rule('iotd_pipeline_rule_out_total', 'Rows emitted.', (r) => r.out)
  rule('iotd_pipeline_rule_late_dropped_total', 'Late events dropped.', (r) => r.lateDropped)
  rule('iotd_pipeline_rule_future_rejected_total', 'Events rejected by maxFutureSkew.', (r) => r.futureRejected)
  rule('iotd_pipeline_rule_windows_fired_total', 'Windows fired.', (r) => r.windowsFired)
  rule('iotd_pipeline_rule_open_windows', 'Windows open now.', (r) => r.openWindows, 'gauge')
  const sink = (name: string, help: string, pick: (k: PipelineSummary['sinks'][number]) => number | null, type: 'counter' | 'gauge' = 'counter') =>
    metric(name, type, help, s.sinks.map((k) => [{...p, sink: k.name, rule: k.rule, type: k.type}, pick(k)]))
  sink('iotd_pipeline_sink_rows_total', 'Rows offered to the sink.', (k) => k.rows)
  sink('iotd_pipeline_sink_written_total', 'Rows the sink accepted.', (k) => k.written)
  sink('iotd_pipeline_sink_batches_total', 'Batches written.', (k) => k.batches)
  sink('iotd_pipeline_sink_retries_total', 'Retries of transient failures.', (k) => k.retries)
  sink('iotd_pipeline_sink_dead_lettered_total', 'Rows refused for good.', (k) => k.deadLettered)
  sink('iotd_pipeline_sink_dropped_total', 'Rows dropped by overflow: drop.', (k) => k.dropped)
  sink('iotd_pipeline_sink_queue_depth', 'Rows waiting for the sink.', (k) => k.queued, 'gauge')
  metric(
    'iotd_pipeline_sink_latency_ms',
    'gauge',
    'Arrival to acceptance by the sink, recent samples.',
    s.sinks.flatMap((k) => [
      [{...p, sink: k.name, quantile: '0.5'}, k.latencyP50Ms],
      [{...p, sink: k.name, quantile: '0.99'}, k.latencyP99Ms],
    ]),
  )
  metric('iotd_pipeline_dead_letter_total', 'counter', 'Dead-letter entries.', [[p, s.deadLetter.count]])
  return `${out.join('\n')}\n`
}
