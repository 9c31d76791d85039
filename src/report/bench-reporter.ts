import type {BenchSnapshot} from '../bench/run-bench.js'
import {toJson, type BenchResult} from '../bench/bench-result.js'
import {formatBenchPlainLine} from './bench-plain-line.js'
import {formatBenchSummary} from './bench-summary.js'
import {createModeReporter} from './mode-reporter.js'
import type {RunReporter} from './run-reporter.js'
import {colorEnabledFor, type OutputMode} from './terminal.js'

export interface BenchReporterOptions {
  stdout?: NodeJS.WriteStream
  stderr?: NodeJS.WriteStream
  color?: boolean
}

/**
 * The reporter for one `iotd bench` run in the chosen mode (see createModeReporter): the Ink dashboard on a terminal,
 * plain per-second lines on stderr otherwise, the versioned result as JSON with --json, only the summary with
 * --quiet. The summary is the one `iotd report show` prints for a saved result.
 */
export async function createBenchReporter(mode: OutputMode, opts: BenchReporterOptions = {}): Promise<RunReporter<BenchSnapshot, BenchResult>> {
  const stdout = opts.stdout ?? process.stdout
  const stderr = opts.stderr ?? process.stderr
  const wantColor = opts.color ?? true
  const stdoutColor = colorEnabledFor(stdout, wantColor)
  const stderrColor = colorEnabledFor(stderr, wantColor)
  const summaryText = (result: BenchResult) => formatBenchSummary(result, {color: stdoutColor}).replace(/\n$/, '')
  return createModeReporter<BenchSnapshot, BenchResult>(mode, {
    stdout,
    stderr,
    stderrColor,
    progressLine: (snapshot) => formatBenchPlainLine(snapshot, {color: stderrColor}),
    summaryText,
    jsonText: (result) => toJson(result).replace(/\n$/, ''),
    live: async () => {
      const {createLiveBenchReporter} = await import('./ui/live-bench-reporter.js')
      return createLiveBenchReporter({stdout, stderr, color: stdoutColor, summaryText})
    },
  })
}
