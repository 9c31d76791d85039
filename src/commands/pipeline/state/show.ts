import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../../cli/base-command.js'
import type {StateInfo} from '../../../pipeline/state/index.js'

export default class PipelineStateShow extends BaseCommand {
  static override summary = 'Show the saved state of a pipeline: its last checkpoint and the input log a restart replays.'

  static override description = `A pipeline run keeps its windows, stateful-function state, watermarks and file positions in a state directory (a checkpoint every state.interval and at shutdown) and writes live input to an input log before acknowledging it. The next run of the same pipeline resumes from there. This prints where that directory is and what it holds; nothing is changed.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Where the state of a pipeline is and what a restart would resume from', command: '<%= config.bin %> <%= command.id %> flow.yaml'},
    {description: 'The same for a run started with its own state directory', command: '<%= config.bin %> <%= command.id %> flow.yaml --state-dir /var/lib/iotd/flow'},
  ]

  static override args = {
    file: Args.string({description: 'Pipeline file (YAML, version 1).', required: true}),
  }

  static override flags = {
    'state-dir': Flags.string({summary: 'The state directory the run used (default: state.path of the file, else one per pipeline name).', env: 'IOTD_PIPELINE_STATE_DIR'}),
  }

  async run(): Promise<StateInfo> {
    const {args, flags} = await this.parse(PipelineStateShow)
    const {loadPipeline} = await import('../../../pipeline/index.js')
    const {formatStateInfo, stateInfoOf} = await import('../../../pipeline/state/index.js')
    const info = stateInfoOf(loadPipeline(args.file), {stateDir: flags['state-dir']})
    if (!this.jsonEnabled()) process.stdout.write(formatStateInfo(info))
    return info
  }
}
