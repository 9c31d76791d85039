import {Args} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import type {ConfigProblem} from '../../errors.js'
import {loadScenario} from '../../sim/scenario/index.js'

export default class SimLint extends BaseCommand {
  static override summary = 'Check a scenario file and report every problem with file:line:col.'

  static override description = `Validates the scenario against the version 1 schema and its own rules (templates, topics, ranges, derived-field cycles, modes, anomalies). Prints a one-line OK on success; every problem on its own line as file:line:col otherwise.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Check a scenario before running it', command: '<%= config.bin %> <%= command.id %> scenarios/smart-factory.yaml'},
  ]

  static override args = {
    scenario: Args.string({description: 'Scenario file (YAML, version 1).', required: true}),
  }

  async run(): Promise<{schemaVersion: 1; file: string; ok: true; fleets: number; devices: number; modbusGroups: number; modbusDevices: number}> {
    const {args} = await this.parse(SimLint)
    // An unset ${env:NAME} is a warning here: a CI without the secrets still lints everything else.
    const warnings: string[] = []
    const {formatProblem} = await import('../../errors.js')
    const onUnsetEnv = (p: ConfigProblem) => warnings.push(`${formatProblem(p)} (a warning here; a run needs it)`)
    let scenario
    try {
      scenario = loadScenario(args.scenario, {onUnsetEnv})
    } finally {
      for (const w of warnings) this.note(`Warning: ${w}`)
    }
    // Counted from the fleets and groups, not by expanding every device a second time.
    const devices = scenario.fleets.reduce((n, f) => n + f.count, 0)
    const modbusDevices = scenario.modbus.reduce((n, g) => n + g.listeners * g.units.length, 0)
    const modbusGroups = scenario.modbus.length
    if (!this.jsonEnabled()) {
      const {plural} = await import('../../report/sim-summary.js')
      const parts = [`${plural(scenario.fleets.length, 'fleet')}, ${plural(devices, 'device')}`]
      if (modbusGroups > 0) parts.push(`${plural(modbusGroups, 'Modbus group')}, ${plural(modbusDevices, 'Modbus device')}`)
      process.stdout.write(`${args.scenario}: ok (${parts.join('; ')})\n`)
    }
    return {schemaVersion: 1, file: args.scenario, ok: true, fleets: scenario.fleets.length, devices, modbusGroups, modbusDevices}
  }
}
