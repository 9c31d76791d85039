import {Args} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'

interface Listed {
  schemaVersion: 1
  sources: {type: string; summary: string; finite: boolean}[]
  sinks: {type: string; summary: string}[]
  functions: {name: string; kind: string; summary: string}[]
}

export default class PipelineList extends BaseCommand {
  static override summary = 'List the source and sink types and the SQL functions a pipeline can use.'

  static override description = `Every registered source and sink type with its one-line summary, and every function of the SQL dialect by kind (aggregate, stateful, window, scalar). docs/pipeline-reference.md has every option of each.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Everything', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Only the functions', command: '<%= config.bin %> <%= command.id %> functions'},
  ]

  static override args = {
    what: Args.string({description: 'sources, sinks or functions (default: all).', options: ['sources', 'sinks', 'functions'], required: false}),
  }

  async run(): Promise<Listed> {
    const {args} = await this.parse(PipelineList)
    const {SINK_SPECS, SOURCE_SPECS} = await import('../../pipeline/registry.js')
    const {defaultFunctionRegistry} = await import('../../pipeline/rule/index.js')
    const listed: Listed = {
      schemaVersion: 1,
      sources: SOURCE_SPECS.map((s) => ({type: s.type, summary: s.summary, finite: s.finite === true})),
      sinks: SINK_SPECS.map((s) => ({type: s.type, summary: s.summary})),
      functions: defaultFunctionRegistry()
        .list()
        .map((f) => ({name: f.name, kind: f.kind, summary: f.summary})),
    }
    if (!this.jsonEnabled()) {
      const lines: string[] = []
      const section = (title: string, rows: [string, string][]) => {
        const w = Math.max(...rows.map(([a]) => a.length))
        lines.push(title, ...rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`), '')
      }
      if (!args.what || args.what === 'sources') section('sources', listed.sources.map((s) => [s.type, s.summary]))
      if (!args.what || args.what === 'sinks') section('sinks', listed.sinks.map((s) => [s.type, s.summary]))
      if (!args.what || args.what === 'functions') section('functions', listed.functions.map((f) => [`${f.name} (${f.kind})`, f.summary]))
      process.stdout.write(lines.join('\n'))
    }
    return listed
  }
}
