import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {UsageError} from '../../errors.js'

export default class ReportHtml extends BaseCommand {
  static override strict = false

  static override summary = 'Write bench results as one self-contained HTML report with charts.'

  static override description = `Writes one HTML file that needs nothing else (no network, no scripts): the latency percentile plot with every run overlaid (HdrHistogram's log-scale plot, corrected solid and uncorrected dashed), throughput and p50/p99 per second over time, and a summary table with one column per run. Give several results to compare runs; each is named after its file.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'One run', command: '<%= config.bin %> <%= command.id %> result.json --out report.html'},
    {description: 'Three runs overlaid', command: '<%= config.bin %> <%= command.id %> mosquitto.json emqx.json nanomq.json --out brokers.html --title "Brokers, QoS 1, 50k/s"'},
  ]

  static override args = {
    results: Args.string({description: 'Bench result files (JSON); one or more.', required: true}),
  }

  static override flags = {
    out: Flags.string({char: 'o', summary: 'Write the report to this file (default: stdout).', env: 'IOTD_OUT'}),
    title: Flags.string({summary: 'Title of the report (default: the runs\' names).', env: 'IOTD_TITLE'}),
  }

  // --json makes no sense for an HTML document.
  static override enableJsonFlag = false

  async run(): Promise<undefined> {
    const {argv, flags} = await this.parse(ReportHtml)
    const files = argv as string[]
    if (files.length === 0) throw new UsageError('give one or more bench result files')
    const {loadLabelledResults} = await import('../../report/result-files.js')
    const {renderHtmlReport, writeHtmlReport} = await import('../../report/html/html-report.js')
    const runs = loadLabelledResults(files)
    if (flags.out) {
      writeHtmlReport(flags.out, runs, {title: flags.title})
      this.note(`report of ${runs.length} run${runs.length === 1 ? '' : 's'} -> ${flags.out}`)
    } else {
      process.stdout.write(renderHtmlReport(runs, {title: flags.title}))
    }
    return undefined
  }
}
