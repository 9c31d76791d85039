import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {EXIT_CODES, IotdError, UsageError} from '../../errors.js'
import type {SimSummary} from '../../sim/types.js'
import type {BackfillSummary} from '../../sim/backfill.js'

/** A shard's --json summary is a few KiB (one row per fleet); a file far larger is not one. */
const SUMMARY_MAX_BYTES = 16 * 1024 * 1024

export default class SimMerge extends BaseCommand {
  static override strict = false

  static override summary = 'Add up the JSON summaries of a sharded sim run into the summary of the whole fleet.'

  static override description = `Reads the --json summaries of one run's shards (\`iotd sim --shard i/n --json\`, or the Kubernetes Indexed Job in deploy/k8s/sim-indexed-job.yaml) and prints the summary of the whole fleet: devices, published, acknowledged, delivered, errors and every other count summed per fleet and in total. The summaries of a backfill's shards (\`iotd sim --backfill <range> --shard i/n --json\`) merge the same way: rows, suppressed messages, labels and devices summed, for one scenario, seed and range. A sim summary keeps percentiles, not histograms, so the merged latency percentiles are the largest shard's (an upper bound); counts and maxima are exact. Summaries of different scenarios or seeds, or the same shard twice, are refused, and so are shards of different definitions of one scenario: each shard's summary records a fingerprint of what decides which devices the whole run holds and what they send (\`definition\`), so the same name and seed over an edited file (one fleet's count changed on one machine) is refused, naming which shards ran which. Summaries of an older iotd carry no fingerprint and merge with a warning. The connect time of a merge is each shard's own (the slowest shard's figure): the shards are separate processes.

A shard does not judge its thresholds (it exits 0 on them): they are judged here, on the whole fleet. The shards' thresholds (as recorded in their summaries; when the shards recorded different ones, every one any shard recorded, with a warning naming the shard that lacked it) are judged on the merged figures, and --threshold replaces them. connected, delivered, errors, dropped and late come exactly from the summed counts, as does a distribution's count and max; a percentile (p(N), med) is judged on the largest shard's, an upper bound of the fleet's: a pass of p(99)<50ms holds for the fleet, a fail says "upper bound" (the fleet's own p(99) may be lower), and a lower limit or an equality on a percentile (p(50)>1ms) cannot be shown from an upper bound and fails. avg and min are not kept in a summary and fail as not measured. The verdicts are printed with the summary (\`thresholds\` in --json), then the command exits 99 if one failed.

A merge ends as its shards did, and a shard's outcome comes before the thresholds: a shard whose worker failed exits 1, an interrupted one 130; a merge with shards missing (named in the warnings) exits 1 after printing its figures, as does one with a shard that never connected or published nothing (exit 1 on its own); only a merge of every shard, each of which ran, exits 99 on a failed threshold. Shards whose run lengths differ by more than a tenth are warned about.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'The whole fleet of three shards', command: '<%= config.bin %> <%= command.id %> sim-shard-0.json sim-shard-1.json sim-shard-2.json'},
    {description: 'As JSON, for another tool', command: '<%= config.bin %> <%= command.id %> sim-shard-*.json --json > fleet.json'},
    {description: 'Judge the whole fleet by its own SLO (exit 99 when one fails)', command: "<%= config.bin %> <%= command.id %> sim-shard-*.json --threshold 'delivered>=99.9%' --threshold 'errors==0' --threshold 'lag.p(99)<50ms'"},
  ]

  static override args = {
    summaries: Args.string({description: 'JSON summaries of the shards (iotd sim --json); one or more.', required: true}),
  }

  static override flags = {
    threshold: Flags.string({
      summary: "SLO to judge the merged figures by, in iotd sim's grammar (repeatable; default: the shards' own thresholds): delivered>=99.9%, errors==0, lag.p(99)<50ms (percentiles: an upper bound).",
      multiple: true,
      multipleNonGreedy: true,
      env: 'IOTD_THRESHOLD',
    }),
  }

  async run(): Promise<undefined> {
    const {argv, flags} = await this.parse(SimMerge)
    const files = argv as string[]
    const {judgeMergedSummary, parseSimThresholds} = await import('../../sim/sim-thresholds.js')
    // Parsed before any file is read: a mistyped SLO is the one problem told.
    const given = parseSimThresholds(flags.threshold ?? [])
    const {readConfigText} = await import('../../config/yaml-loader.js')
    const parts = files.map((file) => {
      // Read as every config and result file is: a missing, binary or oversized file is one line naming it (exit 2),
      // before a wrong argument (a capture, an image) is read whole into memory.
      const text = readConfigText(file, SUMMARY_MAX_BYTES)
      try {
        // The summary is the JSON object on stdout; anything printed before it (a shell's banner) is skipped.
        return JSON.parse(text.slice(Math.max(0, text.indexOf('{')))) as SimSummary | BackfillSummary
      } catch {
        throw new UsageError(`${file} is not a JSON summary of iotd sim (run it with --json)`)
      }
    })
    const {isBackfillSummary, mergeBackfillSummaries, mergeSimSummaries, shardsThatDidNothing} = await import('../../report/sim-merge.js')
    let merged: SimSummary | BackfillSummary
    try {
      // The first summary says which kind of shards these are; a part of the other kind is refused by name, and every
      // refusal names the file as it was given (not "summary 2", which the user must count out).
      merged = isBackfillSummary(parts[0]) ? mergeBackfillSummaries(parts as BackfillSummary[], files) : mergeSimSummaries(parts as SimSummary[], files)
    } catch (error) {
      throw new UsageError((error as Error).message)
    }
    // A backfill has no connections, lag or deliveries to judge: taking --threshold would let a CI gate pass unchecked.
    if (isBackfillSummary(merged) && given.length > 0) throw new UsageError('--threshold judges a live run\'s shards: a backfill measures no connections, lag or deliveries', ['drop --threshold (or IOTD_THRESHOLD from the environment)'])
    if (!isBackfillSummary(merged)) merged = judgeMergedSummary(merged, parts as SimSummary[], given, files)
    // Printed here in both modes, so a partial merge can still exit 1 after its figures.
    const {emptyBackfillReason, formatBackfillSummary, formatSimSummary} = await import('../../report/sim-summary.js')
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify(merged, null, 2)}\n`)
    } else {
      process.stdout.write(`${isBackfillSummary(merged) ? formatBackfillSummary(merged) : formatSimSummary(merged, {color: false})}\n`)
    }
    const shards = merged.mergedShards
    // Figures of some shards are not the run's: a CI step must not take them for the whole fleet.
    const missing = shards && shards.merged < shards.of ? shards.of - shards.merged : 0
    let failure: IotdError | undefined
    if (missing > 0) failure = new IotdError(`${missing} of ${shards!.of} shards missing: the merged figures above are not the whole run`, EXIT_CODES.runtime, ["merge every shard's summary"])
    // Merged backfill shards end as one backfill would: no rows at all is exit 1, an interrupted shard 130.
    else if (isBackfillSummary(merged) && merged.rows === 0) failure = new IotdError(emptyBackfillReason(merged), EXIT_CODES.runtime)
    // Live shards end as their runs did: one that never connected or published nothing exited 1, and so does the merge.
    else if (!isBackfillSummary(merged)) {
      const idle = shardsThatDidNothing(parts as SimSummary[])
      if (idle.length > 0) failure = new IotdError(`${idle.length} of ${shards!.of} shards did nothing they were asked (${idle.join('; ')}): the merged figures above are not a run that passed`, EXIT_CODES.runtime, ["each shard's own summary says why; run those shards again and merge"])
    }
    // A shard whose worker failed (exit 1) or that was interrupted (130) makes the merge end the same way; those, and
    // the failures above, come before failed thresholds (99), which are the verdict of a whole run only.
    const thresholdsFailed = !isBackfillSummary(merged) && (merged.thresholds ?? []).some((v) => !v.ok)
    return this.finishRun({error: isBackfillSummary(merged) ? undefined : merged.error, interrupted: merged.interrupted, failure, thresholdsFailed}, 'the merged summary above covers the shards until then')
  }
}
