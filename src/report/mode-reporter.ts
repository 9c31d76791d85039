import {createLineReporter} from './line-reporter.js'
import type {RunReporter} from './run-reporter.js'
import type {OutputMode} from './terminal.js'

/**
 * The one switch from output mode to reporter, shared by every command with a live run (sim, bench):
 * - interactive: the command's Ink live view (loaded only here), log lines above it, summary text at the end;
 * - plain: one progress line per update and the log lines on stderr, the summary text on stdout;
 * - json: the result as JSON on stdout; progress and info lines on stderr only when stderr is a terminal (a person
 *   is watching), warnings and errors always;
 * - quiet: the summary text only, plus error lines on stderr.
 */
export interface ModeReporterConfig<S, R> {
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  /** Colour on stderr (progress, log marks): decided by the caller for that stream. */
  stderrColor: boolean
  progressLine: (snapshot: S) => string
  summaryText: (result: R) => string
  jsonText: (result: R) => string
  live: () => Promise<RunReporter<S, R>>
}

export async function createModeReporter<S, R>(mode: OutputMode, c: ModeReporterConfig<S, R>): Promise<RunReporter<S, R>> {
  const {stdout, stderr, stderrColor: color} = c
  switch (mode) {
    case 'interactive':
      return c.live()
    case 'plain':
      return createLineReporter({stdout, stderr, progressLine: c.progressLine, minLogLevel: 'info', color, formatResult: c.summaryText})
    case 'json': {
      const watched = stderr.isTTY === true
      return createLineReporter({
        stdout,
        stderr,
        progressLine: watched ? c.progressLine : undefined,
        minLogLevel: watched ? 'info' : 'warn',
        color,
        formatResult: c.jsonText,
      })
    }
    case 'quiet':
      return createLineReporter({stdout, stderr, minLogLevel: 'error', color, formatResult: c.summaryText})
  }
}
