import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {parseDurationFlag} from '../../cli/flag-parsers.js'
import {IotdError, UsageError} from '../../errors.js'
import type {ReadResult} from '../../tools/modbus-inspect.js'
import type {Table, TagType, WordOrder} from '../../modbus/types.js'
import {TABLES, WORD_ORDERS} from '../../modbus/types.js'

/** Flags every `iotd modbus` command takes, so they read the same everywhere (write and scan import them from here). */
export const lineFlags = {
  baud: Flags.integer({summary: 'Serial line: baud rate (default 9600, or baud= in the serial:// target).', min: 50, max: 4_000_000, env: 'IOTD_MODBUS_BAUD'}),
  parity: Flags.string({summary: 'Serial line: parity (default none).', options: ['none', 'even', 'odd'], env: 'IOTD_MODBUS_PARITY'}),
  'data-bits': Flags.integer({summary: 'Serial line: data bits, 7 or 8 (default 8).', min: 7, max: 8, env: 'IOTD_MODBUS_DATA_BITS'}),
  'stop-bits': Flags.integer({summary: 'Serial line: stop bits, 1 or 2 (default 1).', min: 1, max: 2, env: 'IOTD_MODBUS_STOP_BITS'}),
  rtu: Flags.boolean({summary: 'host:port carries Modbus RTU frames (RTU over TCP, a serial gateway in transparent mode); same as rtu+tcp://host:port.', env: 'IOTD_MODBUS_RTU'}),
}

/** The line settings the flags give, over those of the target text. */
export function serialOverrides(flags: {baud?: number; parity?: string; 'data-bits'?: number; 'stop-bits'?: number; rtu?: boolean}) {
  return {baud: flags.baud, parity: flags.parity, dataBits: flags['data-bits'], stopBits: flags['stop-bits'], rtu: flags.rtu}
}

export const TARGET_HELP = 'The target is host:port (Modbus TCP, port 502 when left out), rtu+tcp://host:port (RTU frames over TCP), or a serial line: serial:///dev/ttyUSB0?baud=19200&parity=even&unit=3 (or the device path with --baud, --parity, --data-bits, --stop-bits). Unit 0 is broadcast on a serial line: writes only, nothing answers.'

export const targetFlags = {
  unit: Flags.integer({char: 'u', summary: 'Unit id (slave id) of the device (default 1, or unit= in the serial:// target).', min: 0, max: 255, env: 'IOTD_MODBUS_UNIT'}),
  ...lineFlags,
  address: Flags.string({
    char: 'a',
    summary: 'Address: 4xxxx/3xxxx/1xxxx/0xxxx notation (40001 = first holding register), or a number with --table.',
    required: true,
    env: 'IOTD_MODBUS_ADDRESS',
  }),
  table: Flags.string({summary: 'Table of a numeric --address (holding, input, coil, discrete).', options: [...TABLES], env: 'IOTD_MODBUS_TABLE'}),
  'address-base': Flags.integer({summary: 'Base of a numeric --address: 0 = protocol offset (default), 1 = counted from 1.', default: 0, min: 0, max: 1, env: 'IOTD_MODBUS_ADDRESS_BASE'}),
  timeout: Flags.string({summary: 'How long to wait for an answer, e.g. 500ms, 2s.', default: '1s', env: 'IOTD_MODBUS_TIMEOUT'}),
}

export const typeFlags = {
  type: Flags.string({
    char: 't',
    summary: 'Value type: int16, uint16 (default), int32, uint32, float32, int64, uint64, float64, string, bool (coils).',
    options: ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64', 'float64', 'string'],
    env: 'IOTD_MODBUS_TYPE',
  }),
  length: Flags.integer({summary: 'Bytes per value for --type string (UTF-8: one per ASCII character).', min: 1, max: 250, env: 'IOTD_MODBUS_LENGTH'}),
  scale: Flags.string({summary: 'engineering = raw × scale + offset (default 1).', env: 'IOTD_MODBUS_SCALE'}),
  offset: Flags.string({summary: 'engineering = raw × scale + offset (default 0).', env: 'IOTD_MODBUS_OFFSET'}),
}

export const ORDER_HELP = `Word orders: ABCD is big-endian (the Modbus default), CDAB swaps the two registers of a 32-bit value (reverses the four of a 64-bit one), BADC swaps the bytes inside each register, DCBA is little-endian. ${WORD_ORDERS.join(', ')}.`

export function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n)) throw new Error(`--${name} "${value}" is not a number`)
  return n
}

export default class ModbusRead extends BaseCommand {
  static override summary = 'Read registers or bits from a Modbus device (TCP, RTU over TCP, serial line) and decode them.'

  static override description = `Reads --count values of --type starting at --address and prints them; with --order all, each value in all four word orders side by side, the quickest answer to "which order does this device use?". Raw register words are shown in hex beside the values.

${ORDER_HELP}

${TARGET_HELP}

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Ten holding registers from the first one, as unsigned 16-bit numbers', command: '<%= config.bin %> <%= command.id %> 127.0.0.1:5020 --unit 1 --address 40001 --count 10'},
    {description: 'A float32 in all four word orders', command: '<%= config.bin %> <%= command.id %> 127.0.0.1:5020 --unit 1 --address 40001 --type float32 --order all'},
    {description: 'Input registers by protocol offset, scaled, as JSON', command: '<%= config.bin %> <%= command.id %> 10.0.0.7:502 --table input --address 0 --count 4 --type int16 --scale 0.1 --json'},
    {description: 'Eight coils', command: '<%= config.bin %> <%= command.id %> 127.0.0.1:5020 --address 00001 --count 8'},
    {description: 'A float32 from unit 3 on an RS-485 line at 19200 baud, even parity', command: "<%= config.bin %> <%= command.id %> 'serial:///dev/ttyUSB0?baud=19200&parity=even&unit=3' --address 30001 --type float32"},
    {description: 'The same through a serial gateway that passes RTU frames over TCP', command: '<%= config.bin %> <%= command.id %> rtu+tcp://10.0.0.9:4001 --unit 3 --address 30001 --type float32'},
  ]

  static override args = {
    target: Args.string({description: 'host:port (port 502 when left out), rtu+tcp://host:port, or serial:///dev/<device>?baud=...', required: true}),
  }

  static override flags = {
    ...targetFlags,
    ...typeFlags,
    count: Flags.integer({char: 'n', summary: 'Number of values to read.', default: 1, min: 1, max: 2000, env: 'IOTD_MODBUS_COUNT'}),
    order: Flags.string({char: 'o', summary: 'Word order: ABCD, CDAB, BADC, DCBA, or all (side by side).', default: 'ABCD', options: ['ABCD', 'CDAB', 'BADC', 'DCBA', 'all'], env: 'IOTD_MODBUS_ORDER'}),
  }

  async run(): Promise<ReadResult> {
    const {args, flags} = await this.parse(ModbusRead)
    const {parseTarget, readValues, formatRead, describeFailure} = await import('../../tools/modbus-inspect.js')
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
    const timeoutMs = parseDurationFlag('timeout', flags.timeout) ?? 1000
    const unit = flags.unit ?? target.unit ?? 1
    const result = await readValues({
      target: target.target,
      unit,
      address: flags.address,
      table: flags.table as Table | undefined,
      addressBase: flags['address-base'] as 0 | 1,
      count: flags.count,
      type: flags.type as TagType | undefined,
      order: flags.order as WordOrder | 'all',
      length: flags.length,
      scale,
      offset,
      timeoutMs,
    }).catch((error: unknown) => {
      throw error instanceof IotdError ? error : describeFailure(error, args.target, unit)
    })
    if (!this.jsonEnabled()) process.stdout.write(`${formatRead(result)}\n`)
    return result
  }
}
