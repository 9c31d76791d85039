import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {parseDurationFlag} from '../../cli/flag-parsers.js'
import {IotdError, UsageError} from '../../errors.js'
import type {WriteResult} from '../../tools/modbus-inspect.js'
import type {Table, TagType, WordOrder} from '../../modbus/types.js'
import {numberFlag, ORDER_HELP, serialOverrides, targetFlags, typeFlags} from './read.js'

export default class ModbusWrite extends BaseCommand {
  static override summary = 'Write a setpoint (holding registers or coils) to a Modbus TCP device.'

  static override description = `Encodes --value as --type in --order and writes it starting at --address: function 6 for one register, 16 for several, 5 for one coil, 15 for several. Repeat --value to write consecutive values. Input registers and discrete inputs are read-only in Modbus.

${ORDER_HELP}

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'A float32 setpoint in CDAB order', command: '<%= config.bin %> <%= command.id %> 127.0.0.1:5020 --unit 3 --address 40041 --type float32 --order CDAB --value 12.5'},
    {description: 'Switch a coil on', command: '<%= config.bin %> <%= command.id %> 127.0.0.1:5020 --address 00002 --value on'},
    {description: 'Three registers by protocol offset', command: '<%= config.bin %> <%= command.id %> 127.0.0.1:5020 --table holding --address 10 --value 1 --value 2 --value 3'},
  ]

  static override args = {
    target: Args.string({description: 'Device address host:port (port 502 when left out).', required: true}),
  }

  static override flags = {
    ...targetFlags,
    ...typeFlags,
    value: Flags.string({char: 'v', summary: 'Value to write (repeat for consecutive values); true/false/on/off/1/0 for coils.', required: true, multiple: true, env: 'IOTD_MODBUS_VALUE'}),
    order: Flags.string({char: 'o', summary: 'Word order: ABCD (default), CDAB, BADC, DCBA.', default: 'ABCD', options: ['ABCD', 'CDAB', 'BADC', 'DCBA'], env: 'IOTD_MODBUS_ORDER'}),
  }

  async run(): Promise<WriteResult> {
    const {args, flags} = await this.parse(ModbusWrite)
    const {parseTarget, writeValues, describeFailure} = await import('../../tools/modbus-inspect.js')
    let target
    let scale
    let offset
    try {
      target = parseTarget(args.target, serialOverrides(flags))
      scale = numberFlag('scale', flags.scale)
      offset = numberFlag('offset', flags.offset)
    } catch (error) {
      throw new UsageError((error as Error).message)
    }
    const unit = flags.unit ?? target.unit ?? 1
    const result = await writeValues({
      target: target.target,
      unit,
      address: flags.address,
      table: flags.table as Table | undefined,
      addressBase: flags['address-base'] as 0 | 1,
      type: flags.type as TagType | undefined,
      order: flags.order as WordOrder,
      length: flags.length,
      scale,
      offset,
      values: flags.value,
      timeoutMs: parseDurationFlag('timeout', flags.timeout) ?? 1000,
    }).catch((error: unknown) => {
      throw error instanceof IotdError ? error : describeFailure(error, args.target, unit)
    })
    if (!this.jsonEnabled()) {
      const raw = (result.raw as Array<number | boolean>).map((w) => (typeof w === 'boolean' ? (w ? '1' : '0') : w.toString(16).padStart(4, '0'))).join(' ')
      process.stdout.write(`wrote ${result.table} ${result.notation} on ${result.target} unit ${result.unit}${result.unit === 0 ? ' (broadcast: no answer expected)' : ''} (function ${result.functionCode}): ${raw}\n`)
    }
    return result
  }
}
