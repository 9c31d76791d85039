import type {LogLevel, RunReporter} from './run-reporter.js'
import {paint} from './terminal.js'

/**
 * The reporter for everything that is not a live view (plain, json and quiet modes): progress as whole lines on
 * stderr, never a cursor movement, and the product (summary text or JSON) on stdout once at the end.
 */

/** Anything with write(): a process stream, a file stream, a test's capture. */
export interface LineSink {
  write(chunk: string): unknown
}

export interface LineReporterConfig<S, R> {
  stdout: LineSink
  stderr: LineSink
  /** Formats one progress line; undefined turns progress off (quiet, or json into a pipe). */
  progressLine?: (snapshot: S) => string
  /** Lowest log level printed to stderr; 'none' prints no log lines. */
  minLogLevel: LogLevel | 'none'
  /** Colour the level marks of log lines (only for a terminal). */
  color: boolean
  /** The final product for stdout. */
  formatResult: (result: R) => string
}

const LEVEL_ORDER: Record<LogLevel, number> = {info: 0, warn: 1, error: 2}

/** `warn: broker refused 3 connections`: the level is spelled out so it survives grep and log collectors. */
export function formatLogLine(line: string, level: LogLevel, color: boolean): string {
  if (level === 'info') return line
  const c = paint(color)
  return `${level === 'warn' ? c.yellow('warn:') : c.red('error:')} ${line}`
}

export function createLineReporter<S, R>(config: LineReporterConfig<S, R>): RunReporter<S, R> {
  let done = false
  return {
    update(snapshot) {
      if (done || !config.progressLine) return
      config.stderr.write(`${config.progressLine(snapshot)}\n`)
    },
    log(line, level = 'info') {
      if (config.minLogLevel === 'none' || LEVEL_ORDER[level] < LEVEL_ORDER[config.minLogLevel]) return
      config.stderr.write(`${formatLogLine(line, level, config.color)}\n`)
    },
    async finish(result) {
      if (done) return
      done = true
      config.stdout.write(`${config.formatResult(result)}\n`)
    },
    async close() {
      done = true
    },
  }
}
