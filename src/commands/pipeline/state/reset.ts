import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../../cli/base-command.js'

export default class PipelineStateReset extends BaseCommand {
  static override summary = 'Delete the saved state of a pipeline, so its next run starts with empty windows.'

  static override description = `Removes the pipeline's state directory: the last checkpoint (windows, stateful-function state, watermarks, file positions) and the input log not yet covered by it. Logged input that was acknowledged but not yet in a committed checkpoint is lost with it, so run this only when a fresh start is what you want (a changed rule, a test). Refused while a run of the pipeline holds the state. \`pipeline run --reset-state\` does the same at the start of a run.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Start a pipeline afresh after changing its rule', command: '<%= config.bin %> <%= command.id %> flow.yaml'},
    {description: 'Reset a state directory given at run time', command: '<%= config.bin %> <%= command.id %> flow.yaml --state-dir /var/lib/iotd/flow'},
  ]

  static override args = {
    file: Args.string({description: 'Pipeline file (YAML, version 1).', required: true}),
  }

  static override flags = {
    'state-dir': Flags.string({summary: 'The state directory the run used (default: state.path of the file, else one per pipeline name).', env: 'IOTD_PIPELINE_STATE_DIR'}),
  }

  async run(): Promise<{dir: string; removed: boolean}> {
    const {args, flags} = await this.parse(PipelineStateReset)
    const {loadPipeline} = await import('../../../pipeline/index.js')
    const {resetState, stateDirOf} = await import('../../../pipeline/state/index.js')
    const dir = stateDirOf(loadPipeline(args.file), {stateDir: flags['state-dir']})
    const removed = resetState(dir)
    if (!this.jsonEnabled()) process.stdout.write(removed ? `state: removed ${dir}\n` : `state: nothing saved at ${dir}\n`)
    return {dir, removed}
  }
}
