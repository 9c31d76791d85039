import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {parseDurationFlag} from '../../cli/flag-parsers.js'
import {EXIT_CODES, IotdError, UsageError} from '../../errors.js'
import type {ScanResult} from '../../tools/modbus-inspect.js'
import type {Table} from '../../modbus/types.js'
import {serialOverrides, targetFlags} from './read.js'

export default class ModbusScan extends BaseCommand {
  static override summary = 'Find the unit ids that answer behind a Modbus address (TCP gateway, RTU over TCP, serial line).'

  static override description = `Reads one register (or bit) at --address from every unit id in --units and lists those that answer. A normal answer or an exception such as 2 (the device is there, the address is not) counts as responding; silence and exceptions 10/11 (a gateway saying there is no such device) do not. When no unit answers, the (empty) list is printed and the exit code is 1: no unit answered (0 of N).

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Scan unit ids 1-247 behind a gateway', command: '<%= config.bin %> <%= command.id %> 127.0.0.1:5020'},
    {description: 'A few ids, a longer timeout, as JSON', command: '<%= config.bin %> <%= command.id %> 10.0.0.7:502 --units 1-10,100 --timeout 500ms --json'},
  ]

  static override args = {
    target: Args.string({description: 'Device or gateway address host:port (port 502 when left out).', required: true}),
  }

  static override flags = {
    ...targetFlags,
    address: Flags.string({char: 'a', summary: 'Address to probe (default 40001, the first holding register).', default: '40001', env: 'IOTD_MODBUS_ADDRESS'}),
    units: Flags.string({summary: 'Unit ids to try: a list and ranges, e.g. 1-247 or 1,2,10-20.', default: '1-247', env: 'IOTD_MODBUS_UNITS'}),
    timeout: Flags.string({summary: 'How long to wait for each unit, e.g. 200ms.', default: '200ms', env: 'IOTD_MODBUS_TIMEOUT'}),
    // One at a time by default: requests probed at once share one connection, and a server that handles one request
    // at a time may drop those queued behind one for a unit it does not serve (pymodbus does), so those units would read
    // as absent. A CI run saw unit 7 of 6-8 missed that way with a 6.5 s timeout.
    concurrency: Flags.integer({
      summary: 'Unit ids probed at once over the one connection (raise it for gateways that take pipelined requests).',
      default: 1,
      min: 1,
      max: 255,
      env: 'IOTD_MODBUS_CONCURRENCY',
    }),
  }

  async run(): Promise<ScanResult> {
    const {args, flags} = await this.parse(ModbusScan)
    const {parseTarget, parseUnitList, scanUnits, formatScan, describeFailure} = await import('../../tools/modbus-inspect.js')
    let target
    let units
    try {
      target = parseTarget(args.target, serialOverrides(flags))
      units = parseUnitList(flags.units)
    } catch (error) {
      throw new UsageError((error as Error).message)
    }
    const result = await scanUnits({
      target: target.target,
      units,
      address: flags.address,
      table: flags.table as Table | undefined,
      addressBase: flags['address-base'] as 0 | 1,
      timeoutMs: parseDurationFlag('timeout', flags.timeout) ?? 200,
      concurrency: flags.concurrency,
    }).catch((error: unknown) => {
      throw error instanceof IotdError ? error : describeFailure(error, args.target, 0)
    })
    if (!this.jsonEnabled()) process.stdout.write(`${formatScan(result)}\n`)
    if (result.responding.length === 0 && result.scanned > 0) {
      // A scan that found nothing did not find the devices it was run for: a script must not read it as success.
      const failure = new IotdError(`no unit answered (0 of ${result.scanned})`, EXIT_CODES.runtime, [
        `check the target and --units, or raise --timeout (${flags.timeout} per unit) for a slow line or gateway`,
      ])
      if (this.jsonEnabled()) this.logJson(result)
      return this.finishRun({failure}) as never
    }
    return result
  }
}
