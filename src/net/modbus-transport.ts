import {ModbusTcpClient} from './modbus-client.js'
import {describeRtuTarget, ModbusRtuClient} from './modbus-rtu-client.js'
import type {SerialSettings} from './modbus-rtu-server.js'
import type {ModbusRequest, ModbusResult} from '../modbus/pdu.js'
import type {Table} from '../modbus/types.js'

/**
 * Where a Modbus device is and how iotd talks to it: Modbus TCP (`host:port`), RTU frames over TCP
 * (`rtu+tcp://host:port`, serial gateways in transparent mode) or a serial line
 * (`serial:///dev/ttyUSB0?baud=19200&parity=even&unit=3`). One client interface over the three, so `iotd modbus` and
 * the poll source do not care which.
 */

export type ModbusTarget =
  | {transport: 'tcp'; host: string; port: number}
  | {transport: 'rtu-tcp'; host: string; port: number}
  | ({transport: 'serial'} & SerialSettings)

export interface ModbusClient {
  readonly connected: boolean
  readonly inFlight: number
  connect(): Promise<void>
  request(unitId: number, req: ModbusRequest, timeoutMs?: number): Promise<ModbusResult>
  read(unitId: number, table: Table, address: number, count: number, timeoutMs?: number): Promise<number[] | boolean[]>
  writeRegisters(unitId: number, address: number, values: number[], timeoutMs?: number): Promise<void>
  writeCoils(unitId: number, address: number, values: boolean[], timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export const SERIAL_DEFAULTS: Omit<SerialSettings, 'path'> = {baud: 9600, parity: 'none', dataBits: 8, stopBits: 1}
const PARITIES = ['none', 'even', 'odd'] as const

export function createModbusClient(target: ModbusTarget, options: {timeoutMs?: number; connectTimeoutMs?: number} = {}): ModbusClient {
  if (target.transport === 'tcp') return new ModbusTcpClient({host: target.host, port: target.port, timeoutMs: options.timeoutMs, connectTimeoutMs: options.connectTimeoutMs})
  return new ModbusRtuClient(target.transport === 'serial' ? {kind: 'serial', ...target} : {kind: 'rtu-tcp', host: target.host, port: target.port}, {timeoutMs: options.timeoutMs})
}

export function describeModbusTarget(t: ModbusTarget): string {
  if (t.transport === 'tcp') return `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`
  return t.transport === 'serial' ? describeRtuTarget({kind: 'serial', ...t}) : describeRtuTarget({kind: 'rtu-tcp', host: t.host, port: t.port})
}

export interface SerialOverrides {
  baud?: number
  parity?: string
  dataBits?: number
  stopBits?: number
  /** host:port carries RTU frames (RTU over TCP). */
  rtu?: boolean
}

/**
 * `host:port` / `host` (502), `[v6]:port`, `tcp://host:port`, `rtu+tcp://host:port`, `serial:///dev/ttyUSB0?baud=...`
 * or a bare `/dev/...` path. Returns the unit id a serial URL names (`unit=3`), if any. Throws an Error saying what
 * is wrong.
 */
export function parseModbusTarget(text: string, overrides: SerialOverrides = {}): {target: ModbusTarget; unit?: number} {
  if (text.startsWith('serial:') || text.startsWith('/dev/')) {
    let path = text
    let query = new URLSearchParams()
    if (text.startsWith('serial:')) {
      const m = /^serial:(?:\/\/)?([^?]+)(?:\?(.*))?$/.exec(text)
      if (!m || !m[1].startsWith('/')) throw new Error(`"${text}" is not serial:///dev/<device>[?baud=19200&parity=even&unit=3]`)
      path = m[1]
      query = new URLSearchParams(m[2] ?? '')
    }
    for (const key of query.keys()) if (!['baud', 'parity', 'data-bits', 'databits', 'stop-bits', 'stopbits', 'unit'].includes(key)) throw new Error(`${text}: unknown setting "${key}" (baud, parity, data-bits, stop-bits, unit)`)
    const num = (key: string, v: string | null | undefined) => {
      if (v === null || v === undefined) return undefined
      const n = Number(v)
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${text}: ${key} "${v}" is not a positive whole number`)
      return n
    }
    const baud = overrides.baud ?? num('baud', query.get('baud')) ?? SERIAL_DEFAULTS.baud
    const parity = overrides.parity ?? query.get('parity') ?? SERIAL_DEFAULTS.parity
    if (!(PARITIES as readonly string[]).includes(parity)) throw new Error(`parity "${parity}" must be none, even or odd`)
    const dataBits = overrides.dataBits ?? num('data-bits', query.get('data-bits') ?? query.get('databits')) ?? SERIAL_DEFAULTS.dataBits
    const stopBits = overrides.stopBits ?? num('stop-bits', query.get('stop-bits') ?? query.get('stopbits')) ?? SERIAL_DEFAULTS.stopBits
    if (dataBits !== 7 && dataBits !== 8) throw new Error(`data bits ${dataBits} must be 7 or 8`)
    if (stopBits !== 1 && stopBits !== 2) throw new Error(`stop bits ${stopBits} must be 1 or 2`)
    const unit = num('unit', query.get('unit'))
    if (unit !== undefined && unit > 255) throw new Error(`${text}: unit ${unit} must be 0..255`)
    return {target: {transport: 'serial', path, baud, parity: parity as SerialSettings['parity'], dataBits, stopBits}, unit}
  }
  let transport: 'tcp' | 'rtu-tcp' = overrides.rtu ? 'rtu-tcp' : 'tcp'
  let rest = text
  const scheme = /^([a-z+]+):\/\/(.*)$/.exec(text)
  if (scheme) {
    if (scheme[1] === 'rtu+tcp' || scheme[1] === 'rtutcp') transport = 'rtu-tcp'
    else if (scheme[1] !== 'tcp' && scheme[1] !== 'modbus') throw new Error(`"${text}": the scheme ${scheme[1]}:// is none of tcp://, rtu+tcp://, serial://`)
    rest = scheme[2].replace(/\/$/, '')
  }
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest)
  const m = v6 ?? /^([^:/]+)(?::(\d+))?$/.exec(rest)
  if (!m) throw new Error(`"${text}" is not host:port (e.g. 127.0.0.1:5020), rtu+tcp://host:port or serial:///dev/ttyUSB0`)
  const port = m[2] === undefined ? 502 : Number(m[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port in "${text}" must be 1..65535`)
  return {target: {transport, host: m[1], port}}
}
