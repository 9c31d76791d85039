import type {SimSnapshot, SimSummary} from '../../sim/types.js'
import type {ReporterStreams, RunReporter} from '../run-reporter.js'
import {formatSimSummary} from '../sim-summary.js'
import {createLiveReporter} from './live-reporter.js'
import {createLiveSimStore} from './live-sim-store.js'
import {SimView} from './sim-view.js'

/** The interactive reporter of `iotd sim` (loaded lazily): the fleet live view over the shared live reporter. */

export interface LiveSimReporterOptions extends ReporterStreams {
  color: boolean
  title?: string
  cores: number
}

export function createLiveSimReporter(opts: LiveSimReporterOptions): RunReporter<SimSnapshot, SimSummary> {
  return createLiveReporter<SimSnapshot, SimSummary>({
    ...opts,
    store: createLiveSimStore(),
    view: (state, {columns, rows}) => (
      <SimView snapshot={state.snapshot} throughput={state.throughput} rows={rows} columns={columns} color={opts.color} title={opts.title} cores={opts.cores} />
    ),
    summaryText: (summary) => formatSimSummary(summary, {color: opts.color, cores: opts.cores}),
  })
}
