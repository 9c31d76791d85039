import {EXIT_CODES, IotdError, UsageError} from '../errors.js'
import {ModbusConnectionError, ModbusTimeoutError} from '../net/modbus-client.js'
import {ModbusCrcError} from '../net/modbus-rtu-client.js'
import {createModbusClient, describeModbusTarget, parseModbusTarget, type ModbusTarget, type SerialOverrides} from '../net/modbus-transport.js'
import {formatNotation, resolveAddress} from '../modbus/address.js'
import {decodeTagExact, encodeTag, writeProblem} from '../modbus/codec.js'
import {ModbusException} from '../modbus/pdu.js'
import {isBitTable, MAX_READ_BITS, MAX_READ_REGISTERS, WORD_ORDERS, wordsOf, type Table, type TagType, type TagValue, type WordOrder} from '../modbus/types.js'

/**
 * The core of `iotd modbus read|write|scan`: one-off requests to a device, decoded in one or all word orders.
 */

/** Modbus TCP by host and port, or any transport (RTU over TCP, a serial line) as a ModbusTarget. */
export type Target = {host: string; port: number} | {target: ModbusTarget}

/** `host:port` (port 502 when left out), `rtu+tcp://host:port`, `serial:///dev/ttyUSB0?baud=19200&unit=3`. */
export function parseTarget(text: string, overrides: SerialOverrides = {}): {target: ModbusTarget; unit?: number} {
  return parseModbusTarget(text, overrides)
}

function targetOf(t: Target): ModbusTarget {
  return 'target' in t ? t.target : {transport: 'tcp', host: t.host, port: t.port}
}

/** Where a result came from: host and port (serial: the device path and port 0), and the target as written. */
function endpointOf(t: ModbusTarget): {host: string; port: number; transport: ModbusTarget['transport']; target: string} {
  return {host: t.transport === 'serial' ? t.path : t.host, port: t.transport === 'serial' ? 0 : t.port, transport: t.transport, target: describeModbusTarget(t)}
}

function clientFor(t: Target, timeoutMs: number) {
  return createModbusClient(targetOf(t), {timeoutMs, connectTimeoutMs: Math.max(timeoutMs, 1000)})
}

export interface LocateOptions {
  address: string
  table?: Table
  addressBase?: 0 | 1
}

/** --address with --table is a number in --address-base; without it, 4xxxx/3xxxx/1xxxx/0xxxx notation. */
export function locate(options: LocateOptions): {table: Table; offset: number} {
  const text = options.address.trim()
  if (options.table !== undefined && !/^\d+$/.test(text)) throw new Error(`--address "${text}" must be a number when --table is given`)
  if (options.table === undefined && /^\d{1,4}$/.test(text)) {
    throw new Error(`--address ${text} needs --table (holding, input, coil, discrete), or write it in 4xxxx notation (40001 = holding offset 0)`)
  }
  const where = resolveAddress(options.table !== undefined ? Number(text) : text, options.table, {addressBase: options.addressBase ?? 0})
  if (!where.ok) throw new Error(where.message.replace(/needs a table/, 'needs --table'))
  return where
}

export type ReadRequest = Target & LocateOptions & {
  unit: number
  /** Values to read (of `type`); registers when type is omitted. */
  count: number
  type?: TagType
  /** One order, or all four side by side. */
  order: WordOrder | 'all'
  /** Characters per value, for type string. */
  length?: number
  scale?: number
  offset?: number
  timeoutMs: number
}

export interface ReadValue {
  /** 0-based protocol address of the value's first register. */
  address: number
  notation: string
  /** The words (or bits) as they came off the wire. */
  raw: number[] | boolean[]
  /**
   * Decoded value per word order (one entry unless order is all). An int64/uint64 beyond ±2^53 is a string of its
   * exact digits (JSON numbers round there).
   */
  values: Partial<Record<WordOrder, TagValue>>
}

export interface ReadResult {
  schemaVersion: 1
  host: string
  port: number
  transport: ModbusTarget['transport']
  /** The target as iotd names it: host:port, rtu+tcp://host:port, or the device with its line settings. */
  target: string
  unit: number
  table: Table
  address: number
  notation: string
  type: TagType
  orders: WordOrder[]
  /** Registers (or bits) read. */
  quantity: number
  values: ReadValue[]
  elapsedMs: number
}

export async function readValues(req: ReadRequest): Promise<ReadResult> {
  const {table, offset} = locate(req)
  const type: TagType = req.type ?? (isBitTable(table) ? 'bool' : 'uint16')
  if (isBitTable(table) !== (type === 'bool')) throw new Error(isBitTable(table) ? `a ${table} holds bits: use --type bool (or leave --type out)` : 'type bool is for coils and discrete inputs; in a register use --type uint16 and read the bits')
  if (type === 'string' && !req.length) throw new Error('--type string needs --length (characters)')
  const width = type === 'bit' ? 1 : wordsOf(type, req.length)
  const quantity = width * req.count
  const limit = isBitTable(table) ? MAX_READ_BITS : MAX_READ_REGISTERS
  if (quantity > limit) throw new Error(`${req.count} × ${type} is ${quantity} ${isBitTable(table) ? 'bits' : 'registers'}, more than one request may read (${limit})`)
  if (offset + quantity > 65536) throw new Error('the read runs past the last address (65535)')
  const orders = req.order === 'all' ? [...WORD_ORDERS] : [req.order]
  const client = clientFor(req, req.timeoutMs)
  const t0 = performance.now()
  try {
    const data = await client.read(req.unit, table, offset, quantity)
    const values: ReadValue[] = []
    for (let i = 0; i < req.count; i++) {
      const at = offset + i * width
      const raw = data.slice(i * width, (i + 1) * width) as number[] | boolean[]
      const decoded: Partial<Record<WordOrder, TagValue>> = {}
      for (const order of orders) {
        decoded[order] = type === 'bool' ? (raw as boolean[])[0] : decodeTagExact({type, order, scale: req.scale ?? 1, offset: req.offset ?? 0, length: req.length}, raw as number[])
      }
      values.push({address: at, notation: formatNotation(table, at), raw, values: decoded})
    }
    return {schemaVersion: 1, ...endpointOf(targetOf(req)), unit: req.unit, table, address: offset, notation: formatNotation(table, offset), type, orders, quantity, values, elapsedMs: performance.now() - t0}
  } finally {
    await client.close()
  }
}

export type WriteRequest = Target & LocateOptions & {
  unit: number
  type?: TagType
  order: WordOrder
  length?: number
  scale?: number
  offset?: number
  values: string[]
  timeoutMs: number
}

export interface WriteResult {
  schemaVersion: 1
  host: string
  port: number
  transport: ModbusTarget['transport']
  /** The target as iotd names it: host:port, rtu+tcp://host:port, or the device with its line settings. */
  target: string
  unit: number
  table: Table
  address: number
  notation: string
  functionCode: 5 | 6 | 15 | 16
  /** What went on the wire. */
  raw: number[] | boolean[]
}

export async function writeValues(req: WriteRequest): Promise<WriteResult> {
  const {table, offset} = locate(req)
  if (table === 'input' || table === 'discrete') throw new Error(`${table} ${table === 'input' ? 'registers' : 'inputs'} are read-only in Modbus; write to a holding register or a coil`)
  const words = table === 'holding' ? registerWords(req) : []
  const client = clientFor(req, req.timeoutMs)
  try {
    if (table === 'coil') {
      const bits = req.values.map(parseBool)
      await client.writeCoils(req.unit, offset, bits)
      return {schemaVersion: 1, ...endpointOf(targetOf(req)), unit: req.unit, table, address: offset, notation: formatNotation(table, offset), functionCode: bits.length === 1 ? 5 : 15, raw: bits}
    }
    await client.writeRegisters(req.unit, offset, words)
    return {schemaVersion: 1, ...endpointOf(targetOf(req)), unit: req.unit, table, address: offset, notation: formatNotation(table, offset), functionCode: words.length === 1 ? 6 : 16, raw: words}
  } finally {
    await client.close()
  }
}

/**
 * The words a holding-register write sends. A register gets the value asked for or nothing: a value out of the
 * type's range, with a fraction an integer cannot hold, or a string longer than --length is refused (UsageError)
 * before any connection, never clamped, rounded or cut by encodeTag on its way to a device.
 */
function registerWords(req: WriteRequest): number[] {
  const type: TagType = req.type ?? 'uint16'
  if (type === 'bool' || type === 'bit') throw new UsageError(`--type ${type} cannot be written to a holding register (write the whole register as uint16)`)
  if (type === 'string' && !req.length) throw new UsageError('--type string needs --length (bytes)')
  const scale = req.scale ?? 1
  const offset = req.offset ?? 0
  for (const v of req.values) {
    const problem = writeProblem(type, v, scale, offset, req.length)
    if (problem) throw new UsageError(`--value ${problem}; nothing was written`)
  }
  return req.values.flatMap((v) => {
    // An unscaled 64-bit integer is written from its digits, exactly (a number would round beyond 2^53).
    const exact = (type === 'int64' || type === 'uint64') && scale === 1 && offset === 0 && /^-?\d+$/.test(v.trim())
    const value = type === 'string' ? v : exact ? BigInt(v.trim()) : Number(v)
    return encodeTag({type, order: req.order, scale, offset, length: req.length}, value)
  })
}

function parseBool(v: string): boolean {
  if (/^(1|true|on)$/i.test(v)) return true
  if (/^(0|false|off)$/i.test(v)) return false
  throw new Error(`--value "${v}" is not a coil value (true/false, 1/0, on/off)`)
}

export type ScanRequest = Target & LocateOptions & {
  units: number[]
  timeoutMs: number
  concurrency: number
}

export interface ScanHit {
  unit: number
  /** ok, or the exception a present device answered (it is there, the probe address is not). */
  answer: 'ok' | string
}

export interface ScanResult {
  schemaVersion: 1
  host: string
  port: number
  transport: ModbusTarget['transport']
  /** The target as iotd names it: host:port, rtu+tcp://host:port, or the device with its line settings. */
  target: string
  probe: {table: Table; address: number; notation: string}
  scanned: number
  responding: ScanHit[]
  elapsedMs: number
}

/**
 * Probes each unit id with a one-register (or one-bit) read. A normal answer or an exception other than 0x0A/0x0B
 * (which a gateway sends for a device that is not there) counts as responding; silence does not.
 */
export async function scanUnits(req: ScanRequest): Promise<ScanResult> {
  const {table, offset} = locate(req)
  const client = clientFor(req, req.timeoutMs)
  const t0 = performance.now()
  const responding: ScanHit[] = []
  const queue = [...req.units]
  try {
    await client.connect()
    const worker = async () => {
      for (let unit = queue.shift(); unit !== undefined; unit = queue.shift()) {
        try {
          await client.read(unit, table, offset, 1)
          responding.push({unit, answer: 'ok'})
        } catch (error) {
          if (error instanceof ModbusException && error.code !== 10 && error.code !== 11) responding.push({unit, answer: error.message})
          else if (error instanceof ModbusConnectionError) {
            // Some servers close the connection on a unit they do not serve; reconnect and go on.
            await client.connect()
          } else if (!(error instanceof ModbusTimeoutError || error instanceof ModbusException || error instanceof ModbusCrcError)) throw error
        }
      }
    }
    await Promise.all(Array.from({length: Math.max(1, Math.min(req.concurrency, req.units.length))}, worker))
  } finally {
    await client.close()
  }
  responding.sort((a, b) => a.unit - b.unit)
  return {schemaVersion: 1, ...endpointOf(targetOf(req)), probe: {table, address: offset, notation: formatNotation(table, offset)}, scanned: req.units.length, responding, elapsedMs: performance.now() - t0}
}

/** `1-247`, `1,2,5-9` → unit ids. */
export function parseUnitList(text: string): number[] {
  const out = new Set<number>()
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (!m) throw new Error(`"${part}" is not a unit id or range (e.g. 1-247)`)
    const from = Number(m[1])
    const to = m[2] === undefined ? from : Number(m[2])
    if (from < 0 || to > 255 || from > to) throw new Error(`unit range "${part}" must lie within 0..255`)
    for (let u = from; u <= to; u++) out.add(u)
  }
  return [...out]
}

/** A plain-text table of a read: one row per value, one column per order. */
export function formatRead(r: ReadResult): string {
  // One order: a `value` column, whatever the type, and the order in the heading; --order all: a column per order.
  const single = r.orders.length === 1
  const bits = isBitTable(r.table)
  const head = `${r.target} unit ${r.unit} ${r.table} ${r.notation} (offset ${r.address}), ${r.quantity} ${bits ? 'bit' : 'register'}${r.quantity === 1 ? '' : 's'} as ${r.type}${single && !bits ? ` in word order ${r.orders[0]}` : ''}`
  const cols = ['address', ...(single ? ['value'] : r.orders), 'raw']
  const rows = r.values.map((v) => [
    v.notation,
    ...r.orders.map((o) => formatValue(v.values[o], r.type)),
    (v.raw as Array<number | boolean>).map((w) => (typeof w === 'boolean' ? (w ? '1' : '0') : w.toString(16).padStart(4, '0'))).join(' '),
  ])
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()
  return [head, line(cols), ...rows.map(line)].join('\n')
}

function formatValue(v: TagValue | undefined, type: TagType): string {
  if (v === undefined) return ''
  // A string tag is quoted (spaces and empty text show); a 64-bit integer's exact digits are a number to read.
  if (typeof v === 'string') return type === 'string' ? JSON.stringify(v) : v
  return String(v)
}

export function formatScan(r: ScanResult): string {
  const lines = [`${r.target}: ${r.responding.length} of ${r.scanned} unit ids answered a read of ${r.probe.table} ${r.probe.notation} (${(r.elapsedMs / 1000).toFixed(1)}s)`]
  for (const hit of r.responding) lines.push(`  unit ${String(hit.unit).padStart(3)}  ${hit.answer}`)
  return lines.join('\n')
}

/** One clear sentence for each way a Modbus request fails, with what to try. */
export function describeFailure(error: unknown, target: string, unit: number): IotdError {
  if (error instanceof ModbusException) {
    const hint =
      error.code === 2
        ? ['the device has no such address: check --address (40001 is offset 0) and --address-base']
        : error.code === 11 || error.code === 10
          ? [`the gateway at ${target} has no device with unit id ${unit}: try iotd modbus scan ${target}`]
          : error.code === 3
            ? ['the quantity is outside what the device accepts: lower --count']
            : []
    return new IotdError(`${target} unit ${unit} answered ${error.message}`, EXIT_CODES.runtime, hint)
  }
  if (error instanceof ModbusCrcError) return new IotdError(`${target}: ${error.message}`, EXIT_CODES.runtime, ['check the baud rate, parity and stop bits of the line (--baud, --parity), its wiring and termination'])
  if (error instanceof ModbusTimeoutError) return new IotdError(`${target}: ${error.message}`, EXIT_CODES.runtime, ['check --unit (iotd modbus scan lists the ones that answer) or raise --timeout'])
  if (error instanceof ModbusConnectionError) {
    const serial = target.startsWith('serial:') || target.startsWith('/dev/')
    return new IotdError(error.message, EXIT_CODES.runtime, [serial ? 'check the device path and that no other program holds the port; a serial adapter shows up as /dev/ttyUSB0 or /dev/ttyACM0' : 'check host and port; Modbus TCP listens on 502 unless told otherwise'])
  }
  if (error instanceof Error) return new UsageError(error.message)
  return new IotdError(String(error))
}
