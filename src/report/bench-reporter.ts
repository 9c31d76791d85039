import type {BenchSnapshot} from '../bench/run-bench.js'
import {toJson, type BenchResult} from './bench-result.js'
import {formatBenchPlainLine} from './bench-plain-line.js'
import {formatBenchSummary} from './bench-summary.js'
import {createLineReporter} from './line-reporter.js'
import type {RunReporter} from './run-reporter.js'
import {colorEnabledFor, type OutputMode} from './terminal.js'

export interface BenchReporterOptions {
  stdout?: NodeJS.WriteStream
  stderr?: NodeJS.WriteStream
  color?: boolean
}

/**
 * The reporter for one `iotd bench` run in the chosen mode (see chooseOutputMode), as for `iotd sim`: the Ink
 * dashboard on a terminal, plain per-second lines on stderr otherwise, the versioned result as JSON with --json,
 * only the summary with --quiet. The summary is the one `iotd report show` prints for a saved result.
 */
export async function createBenchReporter(mode: OutputMode, opts: BenchReporterOptions = {}): Promise<RunReporter<BenchSnapshot, BenchResult>> {
  const stdout = opts.stdout ?? process.stdout
  const stderr = opts.stderr ?? process.stderr
  const wantColor = opts.color ?? true
  const stdoutColor = colorEnabledFor(stdout, wantColor)
  const stderrColor = colorEnabledFor(stderr, wantColor)
  const summaryText = (result: BenchResult) => formatBenchSummary(result, {color: stdoutColor}).replace(/\n$/, '')
  const progressLine = (snapshot: BenchSnapshot) => formatBenchPlainLine(snapshot, {color: stderrColor})
  switch (mode) {
    case 'interactive': {
      const {createLiveBenchReporter} = await import('./ui/live-bench-reporter.js')
      return createLiveBenchReporter({stdout, stderr, color: stdoutColor, summaryText})
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
        formatResult: (result) => toJson(result).replace(/\n$/, ''),
      })
    }
    case 'quiet':
      return createLineReporter({stdout, stderr, minLogLevel: 'error', color: stderrColor, formatResult: summaryText})
  }
}
