import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {parseDurationFlag} from '../../cli/flag-parsers.js'
import {UsageError} from '../../errors.js'
import type {CompareReport} from '../../report/compare-summary.js'

export default class ReportCompare extends BaseCommand {
  static override summary = 'Compare two bench results and fail on a regression beyond a tolerance.'

  static override description = `Sets a candidate run beside a base run: throughput, every percentile of each latency distribution both recorded, loss and errors, each with its delta and a verdict. A figure that moved the bad way (throughput down; latency, loss or errors up) by more than --tolerance percent of the base is a regression, and the command exits 99, so a CI job can gate on it. Loss or errors where the base had none are always a regression.

p99.99 and max rest on a handful of samples and move from run to run: to gate on the steadier figures only, name them with --metric (e.g. --metric throughput --metric latency.p99 --metric loss).

--threshold additionally judges the candidate against SLOs in k6's grammar (exit 99 when one fails). Runs set up differently (QoS, payload, clients, target) are compared anyway, with a warning.

EXIT CODES
${EXIT_CODES_HELP}
  (99 here also means: a regression beyond the tolerance)`

  static override examples = [
    {description: 'Compare a run with yesterday\'s, 5% tolerance', command: '<%= config.bin %> <%= command.id %> base.json new.json --tolerance 5%'},
    {description: 'Gate CI on throughput, p99 and loss only, and on an SLO', command: "<%= config.bin %> <%= command.id %> base.json new.json --metric throughput --metric latency.p99 --metric loss --threshold 'p(99)<20ms'"},
    {description: 'The comparison as JSON', command: '<%= config.bin %> <%= command.id %> base.json new.json --json > comparison.json'},
  ]

  static override args = {
    base: Args.string({description: 'The base result (JSON from iotd bench --out).', required: true}),
    candidate: Args.string({description: 'The candidate result, compared against the base.', required: true}),
  }

  static override flags = {
    tolerance: Flags.string({summary: 'How far a figure may move the bad way, in percent of the base figure: 5% (or 5).', default: '5%', env: 'IOTD_TOLERANCE'}),
    metric: Flags.string({
      summary: 'Compare only these figures: throughput, loss, errors, or <latency|uncorrected|ack|connect>.<p50|p90|p99|p99.9|p99.99|max|mean> (repeatable).',
      multiple: true,
      multipleNonGreedy: true,
      env: 'IOTD_METRIC',
    }),
    'noise-floor': Flags.string({summary: 'Latency changes up to this are noise, whatever their percentage (default 100us; 0 turns it off).', env: 'IOTD_NOISE_FLOOR'}),
    threshold: Flags.string({summary: "SLO the candidate must meet, in k6's grammar: 'p(99)<20ms' (repeatable).", multiple: true, multipleNonGreedy: true, env: 'IOTD_THRESHOLD'}),
  }

  async run(): Promise<undefined> {
    const {args, flags} = await this.parse(ReportCompare)
    const tolerancePct = parseTolerance(flags.tolerance)
    const {loadBenchResult} = await import('../../bench/bench-result.js')
    const {anyRegression, compareResults, setupDifferences} = await import('../../report/bench-compare.js')
    const base = loadBenchResult(args.base)
    const candidate = loadBenchResult(args.candidate)
    const rows = compareResults(base, candidate, {tolerancePct, metrics: flags.metric, noiseFloorMs: parseNoiseFloor(flags['noise-floor'])})
    let thresholds: CompareReport['thresholds'] = []
    if (flags.threshold?.length) {
      const {parseThresholds} = await import('../../metrics/thresholds.js')
      const {evaluateResultThresholds} = await import('../../report/result-thresholds.js')
      thresholds = evaluateResultThresholds(candidate, parseThresholds(flags.threshold), args.candidate)
    }
    const report: CompareReport = {
      schemaVersion: 1,
      base: args.base,
      candidate: args.candidate,
      tolerancePct,
      setupDifferences: setupDifferences(base, candidate),
      rows,
      regressions: rows.filter((r) => r.verdict === 'regression').map((r) => r.metric),
      thresholds,
    }
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    } else {
      const {formatCompareReport} = await import('../../report/compare-summary.js')
      const {colorEnabledFor} = await import('../../report/terminal.js')
      process.stdout.write(`${formatCompareReport(report, {color: colorEnabledFor(process.stdout, flags.color)})}\n`)
    }
    this.finishRun({thresholdsFailed: anyRegression(rows) || thresholds.some((v) => !v.ok)})
    return undefined
  }
}

/** `--noise-floor 100us`, `0.5ms`, `0`: a duration, in ms; undefined keeps the default. */
function parseNoiseFloor(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  try {
    return parseDurationFlag('noise-floor', text)
  } catch (error) {
    throw new UsageError((error as Error).message, ['e.g. 100us or 0.5ms'])
  }
}

/** `5%`, `5` and `2.5%` are percentages; anything else is a usage error naming the flag. */
function parseTolerance(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text)
  if (!m) throw new UsageError(`--tolerance '${text}': expected a percentage such as 5% or 0.5%`)
  return Number(m[1])
}
