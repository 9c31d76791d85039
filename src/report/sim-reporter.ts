import type {SimSnapshot, SimSummary} from '../sim/types.js'
import {usableCores} from './client-health.js'
import {redactUrl} from '../net/mqtt-endpoint.js'
import {createLineReporter} from './line-reporter.js'
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

/**
 * The reporter for one `iotd sim` run in the chosen mode (see chooseOutputMode):
 * - interactive: Ink live view on stdout, log lines above it, summary text at the end (Ink loaded only here);
 * - plain: one progress line per update and the log lines on stderr, summary text on stdout;
 * - json: the summary as JSON on stdout; progress and info lines on stderr only when stderr is a terminal (a person
 *   is watching), warnings and errors always;
 * - quiet: the summary text only, plus error lines on stderr.
 */
export async function createSimReporter(mode: OutputMode, opts: SimReporterOptions = {}): Promise<RunReporter<SimSnapshot, SimSummary>> {
  const stdout = opts.stdout ?? process.stdout
  const stderr = opts.stderr ?? process.stderr
  const wantColor = opts.color ?? true
  const cores = usableCores()
  const stdoutColor = colorEnabledFor(stdout, wantColor)
  const stderrColor = colorEnabledFor(stderr, wantColor)
  const summaryText = (summary: SimSummary) => formatSimSummary(summary, {color: stdoutColor, cores})
  const progressLine = (snapshot: SimSnapshot) => formatSimPlainLine(snapshot, {color: stderrColor})

  switch (mode) {
    case 'interactive': {
      const {createLiveSimReporter} = await import('./ui/live-sim-reporter.js')
      return createLiveSimReporter({stdout, stderr, color: stdoutColor, title: opts.title, cores})
    }
    case 'plain':
      return createLineReporter({stdout, stderr, progressLine, minLogLevel: 'info', color: stderrColor, formatResult: summaryText})
    case 'json': {
      const watched = stderr.isTTY === true
      return createLineReporter({
        stdout,
        stderr,
        progressLine: watched ? progressLine : undefined,
        minLogLevel: watched ? 'info' : 'warn',
        color: stderrColor,
        // The broker URL is the one field that can carry a password; --json output never echoes secrets.
        formatResult: (summary) => JSON.stringify({...summary, broker: redactUrl(summary.broker)}, null, 2),
      })
    }
    case 'quiet':
      return createLineReporter({stdout, stderr, minLogLevel: 'error', color: stderrColor, formatResult: summaryText})
  }
}
