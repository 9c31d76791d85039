import type {BenchSnapshot} from '../../bench/run-bench.js'
import type {BenchResult} from '../../bench/bench-result.js'
import type {ReporterStreams, RunReporter} from '../run-reporter.js'
import {BenchView} from './bench-view.js'
import {createLiveReporter} from './live-reporter.js'
import {createLiveStore} from './live-sim-store.js'

/** The interactive reporter of `iotd bench` (loaded lazily): the dashboard over the shared live reporter. */

export interface LiveBenchReporterOptions extends ReporterStreams {
  color: boolean
  summaryText: (result: BenchResult) => string
}

export function createLiveBenchReporter(opts: LiveBenchReporterOptions): RunReporter<BenchSnapshot, BenchResult> {
  return createLiveReporter<BenchSnapshot, BenchResult>({
    ...opts,
    // The sparkline follows what is being sent (connections per second in conn mode).
    store: createLiveStore<BenchSnapshot>((s) => s.sentPerSec),
    view: (state, {columns, rows}) => <BenchView snapshot={state.snapshot} throughput={state.throughput} rows={rows} columns={columns} color={opts.color} />,
    summaryText: opts.summaryText,
  })
}
