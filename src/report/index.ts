/**
 * How runs are shown. Ink and React are deliberately absent from this index: the live view is loaded by
 * createSimReporter('interactive') through a dynamic import, so other modes and --help stay fast.
 */
export {chooseOutputMode, colorEnabledFor, isCi, type OutputMode, type OutputModeOptions, type TerminalLike} from './terminal.js'
export type {LogLevel, RunReporter} from './run-reporter.js'
export {createSimReporter, type SimReporterOptions} from './sim-reporter.js'
export {formatSimSummary, simVerdicts, type SummaryFormatOptions, type Verdict, type VerdictLevel} from './sim-summary.js'
export {formatSimPlainLine, type PlainLineOptions} from './sim-plain-line.js'
export {formatBytes, formatMs, formatNumber, formatPercent, formatRate, formatRateValue} from '../metrics/format.js'
export {clientBottleneck, CPU_SATURATION_SHARE, EVENT_LOOP_LAG_LIMIT_MS} from './client-health.js'
export {createLineReporter, formatLogLine, type LineReporterConfig, type LineSink} from './line-reporter.js'
export {sparkline} from './sparkline.js'
export {progressBar} from './progress-bar.js'
