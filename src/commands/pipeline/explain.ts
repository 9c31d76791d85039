import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import type {PipelineExplanation} from '../../pipeline/index.js'

export default class PipelineExplain extends BaseCommand {
  static override summary = 'Print the plan of a pipeline: source -> join -> filter -> window (keyed by …) -> project -> sinks.'

  static override description = `Loads and checks the file like \`pipeline lint\`, then shows how each rule will run: which records it reads, its joins, WHERE, the window (kind, size, keys, FILTER/OVER, event or processing time, lateness), HAVING, the projection, ORDER BY/LIMIT, the JSONata map and the sinks with their batching. Nothing is connected or read.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [{description: 'Show the plan', command: '<%= config.bin %> <%= command.id %> scenarios/pipelines/five-minute-rollup.yaml'}]

  static override args = {
    file: Args.string({description: 'Pipeline file (YAML, version 1).', required: true}),
  }

  static override flags = {
    set: Flags.string({summary: 'Override a key of the file: path=value; repeatable.', multiple: true, env: 'IOTD_SET'}),
  }

  async run(): Promise<PipelineExplanation> {
    const {args, flags} = await this.parse(PipelineExplain)
    const {explainPipeline, formatExplanation, loadPipeline} = await import('../../pipeline/index.js')
    const plan = explainPipeline(loadPipeline(args.file, {set: flags.set}))
    if (!this.jsonEnabled()) process.stdout.write(formatExplanation(plan))
    return plan
  }
}
