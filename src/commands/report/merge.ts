import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {IotdError, UsageError} from '../../errors.js'

export default class ReportMerge extends BaseCommand {
  static override strict = false

  static override summary = 'Merge the results of shards into one result, losslessly.'

  static override description = `Combines the results of one run's shards (\`iotd bench --shard i/n\`, a Kubernetes Indexed Job, several machines): histograms are added bucket by bucket, so every percentile of the merged result is exactly the one a single histogram of all the samples gives; counts and rates are summed, and loss is worked out over the whole run (each shard's subscribers receive every shard's messages); the timelines are aligned by wall-clock second. Results of different runs (their run id, --run-id or --start-at), modes, QoS, payload sizes or load models are refused, as is the same shard twice, and a set with a shard missing unless --allow-partial.

A shard does not judge its thresholds (it exits 0 on them): they are judged here, on the whole run.

The shards' thresholds are judged again on the merged figures (a shard's own verdicts say nothing about the whole run; --threshold replaces them) and the command exits 99 when one fails, after writing the merged result.

Without --out the merged result goes to stdout as JSON; with --out it is written there and the summary is printed.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Merge three shards into one result and print its summary', command: '<%= config.bin %> <%= command.id %> shard-0.json shard-1.json shard-2.json --out merged.json'},
    {description: 'Merge to stdout', command: '<%= config.bin %> <%= command.id %> shard-*.json > merged.json'},
    {description: 'Judge the whole run by its own SLO', command: "<%= config.bin %> <%= command.id %> shard-*.json --out merged.json --threshold 'p(99)<20ms' --threshold 'rate>=49500/s'"},
  ]

  static override args = {
    results: Args.string({description: 'Bench result files of the shards (JSON); one or more.', required: true}),
  }

  static override flags = {
    out: Flags.string({char: 'o', summary: 'Write the merged result to this file (default: stdout, as JSON).', env: 'IOTD_OUT'}),
    'allow-partial': Flags.boolean({summary: 'Merge even when shards are missing; the result is marked partial and its loss is unknown.', env: 'IOTD_ALLOW_PARTIAL'}),
    threshold: Flags.string({
      summary: "SLO to judge the merged figures by, in k6's grammar (repeatable; default: the shards' own thresholds).",
      multiple: true,
      multipleNonGreedy: true,
      env: 'IOTD_THRESHOLD',
    }),
  }

  async run(): Promise<undefined> {
    const {argv, flags} = await this.parse(ReportMerge)
    const files = argv as string[]
    const {resolve} = await import('node:path')
    const twice = files.find((f, i) => files.findIndex((g) => resolve(g) === resolve(f)) !== i)
    if (twice) throw new UsageError(`${twice} is named twice: merging a result with itself would double its counts`)
    const {loadLabelledResults} = await import('../../report/result-files.js')
    const {mergeResults} = await import('../../report/bench-merge.js')
    const {toJson} = await import('../../bench/bench-result.js')
    const {evaluateResultThresholds, thresholdTexts} = await import('../../report/result-thresholds.js')
    const {parseThresholds} = await import('../../metrics/thresholds.js')
    const inputs = loadLabelledResults(files)
    const results = inputs.map((i) => i.result)
    const merged = mergeResults(results, {labels: files, allowPartial: flags['allow-partial'], onWarning: (text) => this.note(`⚠ ${text}`)})
    const texts = flags.threshold?.length ? flags.threshold : thresholdTexts(results)
    merged.thresholds = evaluateResultThresholds(merged, parseThresholds(texts, flags.threshold?.length ? '--threshold' : 'a shard threshold'), 'merged result')
    const json = toJson(merged)

    if (flags.out) {
      const {writeFileSync} = await import('node:fs')
      try {
        writeFileSync(flags.out, json)
      } catch (error) {
        throw new IotdError(`cannot write the merged result to ${flags.out}: ${(error as Error).message}`)
      }
      this.note(`merged ${files.length} result${files.length === 1 ? '' : 's'} -> ${flags.out}`)
    }
    if (this.jsonEnabled() || !flags.out) {
      process.stdout.write(json)
    } else {
      const {formatBenchSummary} = await import('../../report/bench-summary.js')
      const {colorEnabledFor} = await import('../../report/terminal.js')
      process.stdout.write(`${formatBenchSummary(merged, {color: colorEnabledFor(process.stdout, flags.color)})}\n`)
    }
    this.finishRun({thresholdsFailed: merged.thresholds.some((v) => !v.ok)})
    return undefined
  }
}
