import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {ConfigError, EXIT_CODES, formatProblem, type ConfigProblem} from '../../errors.js'

interface LintResult {
  schemaVersion: 1
  file: string
  ok: boolean
  errors: ConfigProblem[]
  warnings: ConfigProblem[]
}

export default class PipelineLint extends BaseCommand {
  static override summary = 'Check a pipeline file: schema, options of every source and sink (URLs, TLS files), tables and SQL.'

  static override description = `Reports every problem as file:line:col — unknown keys, bad options, malformed connector URLs (scheme, host, port; the password masked, with a did-you-mean for slips such as mqtt// or mqqt://), TLS certificate files that cannot be read, missing table files, SQL syntax and planning errors (at their place inside the rule) — and warnings where iotd's semantics differ from eKuiper's (keyed sliding/session/count windows) or a rule has no sinks.

Lint makes every check \`pipeline run\` makes before it connects, by the same code, so a file that passes is not refused at start for its settings. It opens no connection: whether a broker, database or server is reachable, and whether its credentials are right, only a run (or \`pipeline run --dry-run\` for the sinks) finds out.

EXIT CODES
  0   no errors (warnings are printed; with --strict they count as errors)
  1   the file has errors (or warnings with --strict)
  2   usage error (bad flag, no file argument)`

  static override examples = [
    {description: 'Check a pipeline before running it', command: '<%= config.bin %> <%= command.id %> scenarios/pipelines/overheat-alerts.yaml'},
    {description: 'Fail CI on warnings too', command: '<%= config.bin %> <%= command.id %> flow.yaml --strict'},
  ]

  static override args = {
    file: Args.string({description: 'Pipeline file (YAML, version 1).', required: true}),
  }

  static override flags = {
    strict: Flags.boolean({summary: 'Treat warnings as errors (exit 1).', env: 'IOTD_STRICT'}),
  }

  async run(): Promise<LintResult> {
    const {args, flags} = await this.parse(PipelineLint)
    const {loadPipeline} = await import('../../pipeline/index.js')
    let errors: ConfigProblem[] = []
    let warnings: ConfigProblem[] = []
    try {
      warnings = loadPipeline(args.file).warnings
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      errors = error.problems
    }
    const ok = errors.length === 0 && (!flags.strict || warnings.length === 0)
    const result: LintResult = {schemaVersion: 1, file: args.file, ok, errors, warnings}
    if (this.jsonEnabled()) {
      // oclif prints the returned result; on failure this.exit() skips that, so print it here.
      if (!ok) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    } else {
      for (const e of errors) process.stdout.write(`${formatProblem(e)}\n`)
      for (const w of warnings) process.stdout.write(`${formatProblem({...w, message: `warning: ${w.message}`})}\n`)
      if (errors.length === 0) process.stdout.write(`${args.file}: ${warnings.length === 0 ? 'ok' : `ok with ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`}\n`)
    }
    if (!ok) this.exit(EXIT_CODES.runtime)
    return result
  }
}
