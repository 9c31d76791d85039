/**
 * What `--metrics` serves for `iotd record` and `iotd replay`: the live progress and, once the run is over, the
 * summary, under the naming scheme of metrics/prometheus-text.ts (docs/metrics.md). The final scrape is rendered
 * from the summary itself, so its counters are the summary's figures.
 */
import {Families} from '../metrics/prometheus-text.js'
import type {RecordProgress, RecordSummary} from './record.js'
import type {ReplayProgress, ReplaySummary} from './replay.js'

/** `iotd record`. */
export function recordFamilies(p: RecordProgress | RecordSummary): string {
  const f = new Families()
  const summary = 'recorded' in p
  f.counter('iotd_record_messages_received_total', 'Messages received from the broker.', p.received)
  f.counter('iotd_record_messages_recorded_total', 'Messages written to the capture.', summary ? p.recorded : p.messages)
  f.counter('iotd_record_written_bytes_total', 'Bytes written to the capture.', p.bytes)
  return f.text()
}

/** `iotd replay`; skipped rows are counted when the run ends (that is when their reasons are added up). */
export function replayFamilies(p: ReplayProgress | ReplaySummary): string {
  const f = new Families()
  f.counter('iotd_replay_rows_total', 'Rows read from the file.', p.rows)
  f.counter('iotd_replay_messages_published_total', 'Messages published.', p.published)
  if ('skipped' in p) {
    f.counter('iotd_replay_rows_skipped_total', 'Rows not published (bad rows, outside --start/--end, no topic).', p.skipped)
    f.counter('iotd_replay_rows_out_of_order_total', 'Rows earlier than a row before them (sent at once).', p.outOfOrder)
    // The summary's own accounting (rows = published + skipped + not sent) and what a broker outage cost.
    f.counter('iotd_replay_rows_not_sent_total', 'Rows read and due to go out that were not published (interrupted, or the reconnects gave up).', p.notSent)
    f.counter('iotd_replay_connection_losses_total', 'Connections lost mid-replay (each followed by a reconnect with backoff).', p.connection.losses)
    f.counter('iotd_replay_messages_retried_total', 'Messages written again after a connection loss (at least once: a subscriber may see some twice).', p.connection.retried)
  }
  return f.text()
}
