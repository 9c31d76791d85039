import type {SimSnapshot, SimSummary} from '../sim/types.js'
import {usableCores} from './client-health.js'
import {redactUrl} from '../net/mqtt-endpoint.js'
import {createModeReporter} from './mode-reporter.js'
import type {RunReporter} from './run-reporter.js'
import {closingSimSnapshot, formatSimPlainLine, type PlainLineOptions} from './sim-plain-line.js'
import {formatSimSummary} from './sim-summary.js'
import {colorEnabledFor, type OutputMode} from './terminal.js'

export interface SimReporterOptions {
  stdout?: NodeJS.WriteStream
  stderr?: NodeJS.WriteStream
  /** The --[no-]color flag (default true); colour is still used only on terminals. */
  color?: boolean
  /** Scenario name for the live view's title. */
  title?: string
}

/** The reporter for one `iotd sim` run in the chosen mode (see chooseOutputMode and createModeReporter). */
export async function createSimReporter(mode: OutputMode, opts: SimReporterOptions = {}): Promise<RunReporter<SimSnapshot, SimSummary>> {
  const stdout = opts.stdout ?? process.stdout
  const stderr = opts.stderr ?? process.stderr
  const wantColor = opts.color ?? true
  const cores = usableCores()
  const stdoutColor = colorEnabledFor(stdout, wantColor)
  const stderrColor = colorEnabledFor(stderr, wantColor)
  let closing: PlainLineOptions['closing']
  const reporter = await createModeReporter<SimSnapshot, SimSummary>(mode, {
    stdout,
    stderr,
    stderrColor,
    progressLine: (snapshot) => formatSimPlainLine(snapshot, {color: stderrColor, closing}),
    summaryText: (summary) => formatSimSummary(summary, {color: stdoutColor, cores}),
    // The broker URL is the one field that can carry a password; --json output never echoes secrets.
    jsonText: (summary) => JSON.stringify({...summary, broker: redactUrl(summary.broker)}, null, 2),
    live: async () => {
      const {createLiveSimReporter} = await import('./ui/live-sim-reporter.js')
      return createLiveSimReporter({stdout, stderr, color: stdoutColor, title: opts.title, cores})
    },
  })
  if (mode === 'interactive') return reporter
  // The progress lines end with the interval up to the stop, so the last line's counts are the summary's totals
  // (a line whose mode prints none, quiet or json into a pipe, prints none of this either).
  let last: SimSnapshot | undefined
  let finished = false
  return {
    ...reporter,
    update(snapshot) {
      if (finished) return
      last = snapshot
      reporter.update(snapshot)
    },
    async finish(summary) {
      if (!finished && (last !== undefined || summary.fleets.length > 0)) {
        closing = summary.interrupted ? 'interrupted' : 'ended'
        reporter.update(closingSimSnapshot(summary, last))
      }
      finished = true
      await reporter.finish(summary)
    },
  }
}
