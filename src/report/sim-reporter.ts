import type {SimSnapshot, SimSummary} from '../sim/types.js'
import {usableCores} from './client-health.js'
import {redactUrl} from '../net/mqtt-endpoint.js'
import {createModeReporter} from './mode-reporter.js'
import type {RunReporter} from './run-reporter.js'
import {formatSimPlainLine} from './sim-plain-line.js'
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
  return createModeReporter<SimSnapshot, SimSummary>(mode, {
    stdout,
    stderr,
    stderrColor,
    progressLine: (snapshot) => formatSimPlainLine(snapshot, {color: stderrColor}),
    summaryText: (summary) => formatSimSummary(summary, {color: stdoutColor, cores}),
    // The broker URL is the one field that can carry a password; --json output never echoes secrets.
    jsonText: (summary) => JSON.stringify({...summary, broker: redactUrl(summary.broker)}, null, 2),
    live: async () => {
      const {createLiveSimReporter} = await import('./ui/live-sim-reporter.js')
      return createLiveSimReporter({stdout, stderr, color: stdoutColor, title: opts.title, cores})
    },
  })
}
