import {writeFileSync} from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {parseShard} from '../../cli/flag-parsers.js'
import {EXIT_CODES, IotdError, UsageError} from '../../errors.js'
import {loadScenario} from '../../sim/scenario/index.js'

/** What `--json` prints: the table went to --out. */
interface RegistrySummary {
  schemaVersion: 1
  out: string
  format: 'csv' | 'jsonl'
  devices: number
  seed: number
  seedDrawn?: true
  shard?: {index: number; count: number}
}

export default class SimRegistry extends BaseCommand {
  static override summary = 'Write every device of a scenario (id, topic, vars, params) as a CSV or JSON-lines table.'

  static override description = `The device table a pipeline joins its telemetry with: one row per device the scenario simulates (MQTT fleets and Modbus groups), with its id, fleet, index, protocol, client id and topic, then its vars (site, line, model, ...) and its params (drawn per device with the scenario's seed). The same scenario and seed always give the same table, and a run publishes exactly these devices.

Writes to --out (.csv or .jsonl) or to stdout (--format csv, the default, or jsonl); the seed the params were drawn with goes to stderr. A scenario without seed: draws one each call, so give the run's --seed here. With --json (and --out), stdout gets a summary: the file, its format, the device count, the seed and the shard (its index from 0, as in iotd sim's --json summary: --shard 2/3 is {"index": 1, "count": 3}).

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'The device table of the press line, for a pipeline to join', command: '<%= config.bin %> <%= command.id %> scenarios/pipelines/sims/press-line.yaml --out devices.csv'},
    {description: 'As JSON lines on stdout, for one fleet', command: '<%= config.bin %> <%= command.id %> scenarios/smart-factory.yaml --fleet cnc --format jsonl'},
  ]

  static override args = {
    scenario: Args.string({description: 'Scenario file (YAML, version 1).', required: true}),
  }

  static override flags = {
    out: Flags.string({char: 'o', summary: 'Write the table to this file: .csv, or .jsonl for JSON lines (default: stdout).', env: 'IOTD_OUT'}),
    format: Flags.string({summary: 'Format on stdout (with --out, the file name decides).', options: ['csv', 'jsonl'], env: 'IOTD_FORMAT'}),
    seed: Flags.integer({summary: 'Seed for the params; overrides the scenario (use the run\'s seed).', env: 'IOTD_SEED'}),
    fleet: Flags.string({summary: 'Only these MQTT fleets (repeat or comma-separate).', multiple: true, delimiter: ',', env: 'IOTD_FLEET'}),
    shard: Flags.string({summary: 'Only the devices of shard i of n (1-based: --shard 2/3), as `iotd sim --shard` runs them (Modbus devices split as a backfill shard splits them).', env: 'IOTD_SHARD'}),
    shards: Flags.integer({summary: 'Shard count, the index coming from JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs).', min: 1, env: 'IOTD_SHARDS'}),
  }

  async run(): Promise<RegistrySummary | undefined> {
    const {args, flags} = await this.parse(SimRegistry)
    if (this.jsonEnabled() && flags.out === undefined) throw new UsageError('--json prints a summary on stdout: the table needs a file (--out devices.csv or devices.jsonl)')
    const loaded = loadScenario(args.scenario)
    const scenario = flags.seed === undefined ? loaded : {...loaded, seed: flags.seed, seedDrawn: false}
    const out = flags.out
    let format = flags.format ?? 'csv'
    if (out !== undefined) {
      if (/\.jsonl$/i.test(out)) format = 'jsonl'
      else if (/\.csv$/i.test(out)) format = 'csv'
      else throw new UsageError(`--out ${out}: name a .csv or .jsonl file`)
      if (flags.format !== undefined && flags.format !== format) throw new UsageError(`--format ${flags.format} does not match --out ${out}`)
    }
    const {deviceRegistry} = await import('../../sim/device-registry.js')
    const shard = parseShard(flags.shard, flags.shards)
    const {columns, rows} = deviceRegistry(scenario, {fleets: flags.fleet, shard})
    if (rows.length === 0) throw new UsageError(`${args.scenario} has no devices to list`)
    let text: string
    if (format === 'jsonl') {
      text = rows.map((r) => `${JSON.stringify(Object.fromEntries(columns.filter((c) => c in r).map((c) => [c, r[c]])))}\n`).join('')
    } else {
      const {stringify} = await import('csv-stringify/sync')
      text = stringify(rows, {header: true, columns, cast: {boolean: (v) => String(v)}})
    }
    // The params (and topics that name them) follow the seed: said on stderr, so a run can be given the same one.
    const seed = scenario.seedDrawn
      ? `seed ${scenario.seed}, drawn for this table: the scenario sets no seed, so each run draws its own and its params differ; pass --seed ${scenario.seed} here and to iotd sim to match them`
      : `seed ${scenario.seed}`
    if (out === undefined) {
      process.stdout.write(text)
      process.stderr.write(`${rows.length} devices (${seed})\n`)
      return undefined
    }
    try {
      writeFileSync(out, text)
    } catch (error) {
      throw new IotdError(`cannot write ${out}: ${(error as Error).message}`, EXIT_CODES.runtime)
    }
    process.stderr.write(`${rows.length} devices -> ${out} (${seed})\n`)
    return {schemaVersion: 1, out, format: format as 'csv' | 'jsonl', devices: rows.length, seed: scenario.seed, ...(scenario.seedDrawn && {seedDrawn: true as const}), ...(shard && {shard})}
  }
}
