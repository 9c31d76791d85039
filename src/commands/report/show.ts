import {Args, Flags} from '@oclif/core'
import {LATENCY_DISTRIBUTIONS} from '../../metrics/observation.js'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'

export default class ReportShow extends BaseCommand {
  static override summary = 'Print the summary of a saved bench result.'

  static override description = `Re-renders a result saved by \`iotd bench --out result.json\` (or \`--json\`, or \`iotd report merge\`) exactly as the run printed it: verdicts first, then throughput, the latency spectrum (corrected and uncorrected), delivery, the broker's own count and the client's health.

--threshold judges the saved figures against SLOs of your own (exit 99 when one fails); --hgrm and --timeline write the percentile distribution and the per-second series from the saved result, as \`iotd bench\` does at the end of a run.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Print the summary of a saved run', command: '<%= config.bin %> <%= command.id %> result.json'},
    {description: 'Judge a saved run against an SLO', command: "<%= config.bin %> <%= command.id %> result.json --threshold 'p(99)<20ms' --threshold 'loss<0.1%'"},
    {description: "Write the percentile distribution for HdrHistogram's plotter and the timeline as CSV", command: '<%= config.bin %> <%= command.id %> result.json --hgrm latency.hgrm --timeline timeline.csv'},
    {description: 'Print the result itself (validated, secrets masked)', command: '<%= config.bin %> <%= command.id %> result.json --json'},
  ]

  static override args = {
    result: Args.string({description: 'Bench result file (JSON, from iotd bench --out or --json).', required: true}),
  }

  static override flags = {
    threshold: Flags.string({
      summary: "SLO to judge the saved figures by, in k6's grammar: 'p(99)<20ms', 'loss<0.1%', 'rate>=49500/s' (repeatable); replaces the saved verdicts.",
      multiple: true,
      multipleNonGreedy: true,
      env: 'IOTD_THRESHOLD',
    }),
    hgrm: Flags.string({summary: "Write the percentile distribution in HdrHistogram's text format (milliseconds) to this file.", env: 'IOTD_HGRM'}),
    distribution: Flags.option({
      summary: "Distribution for --hgrm (default: the mode's headline one: latency, ack for publish-only, connect for connect runs).",
      options: LATENCY_DISTRIBUTIONS,
      env: 'IOTD_DISTRIBUTION',
    })(),
    timeline: Flags.string({summary: 'Write the per-second timeline as CSV to this file.', env: 'IOTD_TIMELINE'}),
  }

  async run(): Promise<undefined> {
    const {args, flags} = await this.parse(ReportShow)
    const {loadBenchResult, toJson} = await import('../../bench/bench-result.js')
    let result = loadBenchResult(args.result)
    if (flags.threshold && flags.threshold.length > 0) {
      const {parseThresholds} = await import('../../metrics/thresholds.js')
      const {evaluateResultThresholds} = await import('../../report/result-thresholds.js')
      result = {...result, thresholds: evaluateResultThresholds(result, parseThresholds(flags.threshold), args.result)}
    }
    if (flags.hgrm) {
      const {writeHgrm} = await import('../../report/hgrm.js')
      writeHgrm(flags.hgrm, result, flags.distribution)
      this.note(`percentile distribution -> ${flags.hgrm}`)
    }
    if (flags.timeline) {
      const {writeTimelineCsv} = await import('../../report/timeline-csv.js')
      writeTimelineCsv(flags.timeline, result)
      this.note(`timeline (${result.timeline.length} seconds) -> ${flags.timeline}`)
    }
    if (this.jsonEnabled()) {
      process.stdout.write(toJson(result))
    } else {
      const {formatBenchSummary} = await import('../../report/bench-summary.js')
      const {colorEnabledFor} = await import('../../report/terminal.js')
      process.stdout.write(`${formatBenchSummary(result, {color: colorEnabledFor(process.stdout, flags.color)})}\n`)
    }
    // Only thresholds given here decide the exit code: the saved verdicts were the run's, and it exited by them.
    this.finishRun({thresholdsFailed: Boolean(flags.threshold?.length) && result.thresholds.some((v) => !v.ok)})
    return undefined
  }
}
