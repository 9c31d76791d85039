import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import type {ConfigProblem} from '../../errors.js'
import {loadScenario} from '../../sim/scenario/index.js'
import type {AnomalySelection} from '../../sim/dry-run.js'

export default class SimLint extends BaseCommand {
  static override summary = 'Check a scenario file and report every problem with file:line:col.'

  static override description = `Validates the scenario against the version 1 schema and its own rules (templates, topics, ranges, derived-field cycles, modes, anomalies), and loads each behaviour module as the run will, in a child process (its top level runs there, for at most 10 s), reporting what the run would refuse. Prints a one-line OK on success; every problem on its own line as file:line:col otherwise. Warnings (on stderr, exit 0) say what loads but would not do what it says: an unset \${env:NAME}, or an anomaly or fault whose share: (a chance per device) drew none of its devices with this seed, so it never fires (write devices: N for an exact count).

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Check a scenario before running it', command: '<%= config.bin %> <%= command.id %> scenarios/smart-factory.yaml'},
  ]

  static override args = {
    scenario: Args.string({description: 'Scenario file (YAML, version 1).', required: true}),
  }

  static override flags = {
    seed: Flags.integer({summary: 'Seed for the anomaly counts shown (share: draws per device); overrides the scenario, as iotd sim --seed does.', env: 'IOTD_SEED'}),
  }

  async run(): Promise<{schemaVersion: 1; file: string; ok: true; warnings: string[]; fleets: number; devices: number; modbusGroups: number; modbusDevices: number; sparkplugNodes: number; sparkplugDevices: number; anomalies: AnomalySelection[]}> {
    const {args, flags} = await this.parse(SimLint)
    // An unset ${env:NAME} is a warning here: a CI without the secrets still lints everything else.
    const warnings: string[] = []
    const {formatProblem} = await import('../../errors.js')
    const onUnsetEnv = (p: ConfigProblem) => warnings.push(`${formatProblem(p)} (a warning here; a run needs it)`)
    // An anomaly whose share: drew no device (with this seed) loads, and would never fire: said, exit 0.
    const onWarning = (p: ConfigProblem) => warnings.push(formatProblem(p))
    let scenario
    try {
      scenario = loadScenario(args.scenario, {onUnsetEnv, onWarning, loadBehaviors: true, seed: flags.seed})
    } finally {
      for (const w of warnings) this.note(`Warning: ${w}`)
    }
    // Without a seed in the file, every run draws its own, and a share: can select a different count each time.
    const unseeded = scenario.seedDrawn
    // Counted from the fleets and groups, not by expanding every device a second time.
    const devices = scenario.fleets.reduce((n, f) => n + f.count, 0)
    const modbusDevices = scenario.modbus.reduce((n, g) => n + g.listeners * g.units.length, 0)
    const modbusGroups = scenario.modbus.length
    const sparkplugNodes = scenario.sparkplug.reduce((n, g) => n + g.nodes, 0)
    const sparkplugDevices = scenario.sparkplug.reduce((n, g) => n + g.nodes * g.devices, 0)
    const {anomalySelections} = await import('../../sim/dry-run.js')
    const anomalies = anomalySelections(scenario)
    if (!this.jsonEnabled()) {
      const {plural} = await import('../../report/sim-summary.js')
      const {describeSelection} = await import('../../report/dry-run-text.js')
      const parts = [`${plural(scenario.fleets.length, 'fleet')}, ${plural(devices, 'device')}`]
      if (modbusGroups > 0) parts.push(`${plural(modbusGroups, 'Modbus group')}, ${plural(modbusDevices, 'Modbus device')}`)
      if (sparkplugNodes > 0) parts.push(`${plural(sparkplugNodes, 'Sparkplug edge node')}, ${plural(sparkplugDevices, 'Sparkplug device')}`)
      process.stdout.write(`${args.scenario}: ok (${parts.join('; ')})\n`)
      for (const a of anomalies) process.stdout.write(`  ${a.group}.${a.list}[${a.index}] ${describeSelection(a)}\n`)
      if (unseeded && anomalies.some((a) => a.byChance)) {
        process.stdout.write(`  (counts for seed ${scenario.seed}, drawn for this lint: the scenario sets no seed, so each run draws its own; set seed: or pass --seed to fix them)\n`)
      }
    }
    return {schemaVersion: 1, file: args.scenario, ok: true, warnings, fleets: scenario.fleets.length, devices, modbusGroups, modbusDevices, sparkplugNodes, sparkplugDevices, anomalies}
  }
}
