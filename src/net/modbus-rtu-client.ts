import {ModbusException, type ModbusRequest, type ModbusResult} from '../modbus/pdu.js'
import {ModbusConnectionError, ModbusRequester, ModbusTimeoutError} from './modbus-client.js'
import type {SerialSettings} from './modbus-rtu-server.js'

/**
 * A Modbus RTU client over modbus-serial: a serial line (its buffered RTU port, serialport underneath) or RTU frames
 * over TCP. An RTU line carries one request at a time, so requests queue here; the answer's CRC is checked by
 * modbus-serial, and a bad one fails the request with ModbusCrcError (a fault the caller counts), as a timeout fails
 * with ModbusTimeoutError. Unit 0 is broadcast: writes go out and, as the specification asks of a master, the client
 * waits the turnaround delay instead of an answer.
 */

export class ModbusCrcError extends Error {
  constructor(unitId: number, where: string) {
    super(`unit ${unitId} on ${where} answered a frame with a bad CRC (noise on the line, or wrong baud/parity)`)
    this.name = 'ModbusCrcError'
  }
}

export type RtuTarget = ({kind: 'serial'} & SerialSettings) | {kind: 'rtu-tcp'; host: string; port: number}

export interface RtuClientOptions {
  timeoutMs?: number
  /** Wait after a broadcast before the next request (default 100 ms). */
  turnaroundMs?: number
}

type Callback<T> = (err: (Error & {errno?: string; modbusCode?: number}) | null, data: T) => void
interface ModbusSerialClient {
  isOpen: boolean
  setTimeout(ms: number): void
  connectRTUBuffered(path: string, options: Record<string, unknown>): Promise<void>
  connectTelnet(host: string, options: {port: number}): Promise<void>
  close(cb: () => void): void
  on(event: 'close' | 'error', fn: (...args: unknown[]) => void): void
  writeFC1(unit: number, address: number, count: number, next: Callback<{data: boolean[]}>): void
  writeFC2(unit: number, address: number, count: number, next: Callback<{data: boolean[]}>): void
  writeFC3(unit: number, address: number, count: number, next: Callback<{data: number[]}>): void
  writeFC4(unit: number, address: number, count: number, next: Callback<{data: number[]}>): void
  writeFC5(unit: number, address: number, state: boolean, next: Callback<unknown>): void
  writeFC6(unit: number, address: number, value: number, next: Callback<unknown>): void
  writeFC15(unit: number, address: number, states: boolean[], next: Callback<unknown>): void
  writeFC16(unit: number, address: number, values: number[], next: Callback<unknown>): void
}

export function describeRtuTarget(t: RtuTarget): string {
  return t.kind === 'serial' ? `${t.path} (${t.baud} ${t.dataBits}${t.parity[0].toUpperCase()}${t.stopBits})` : `rtu+tcp://${t.host}:${t.port}`
}

export class ModbusRtuClient extends ModbusRequester {
  readonly target: RtuTarget
  private client: ModbusSerialClient | undefined
  private connecting: Promise<void> | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private waiting = 0
  private readonly timeoutMs: number
  private readonly turnaroundMs: number
  private readonly where: string

  constructor(target: RtuTarget, options: RtuClientOptions = {}) {
    super()
    this.target = target
    this.timeoutMs = options.timeoutMs ?? 1000
    this.turnaroundMs = options.turnaroundMs ?? 100
    this.where = describeRtuTarget(target)
  }

  get connected(): boolean {
    return this.client?.isOpen === true && this.connecting === undefined
  }

  get inFlight(): number {
    return this.waiting
  }

  connect(): Promise<void> {
    if (this.connected) return Promise.resolve()
    if (this.connecting) return this.connecting
    this.connecting = (async () => {
      const {default: ModbusRTU} = (await import('modbus-serial')) as unknown as {default: new () => ModbusSerialClient}
      const client = new ModbusRTU()
      client.on('error', () => {})
      try {
        const t = this.target
        if (t.kind === 'serial') await client.connectRTUBuffered(t.path, {baudRate: t.baud, parity: t.parity, dataBits: t.dataBits, stopBits: t.stopBits})
        // modbus-serial's "TcpRTUBuffered" port speaks MBAP (Modbus TCP) framing; its telnet port is the one that
        // sends RTU frames (unit, PDU, CRC) over a TCP socket, as serial device servers in transparent mode pass them.
        else await client.connectTelnet(t.host, {port: t.port})
      } catch (error) {
        const e = error as NodeJS.ErrnoException
        throw new ModbusConnectionError(`cannot open ${this.where} (${e.code ?? e.message})`, e.code)
      } finally {
        this.connecting = undefined
      }
      this.client = client
    })()
    return this.connecting
  }

  /** Sends one request to `unitId` (queued behind those before it) and resolves with its decoded answer. */
  request(unitId: number, req: ModbusRequest, timeoutMs = this.timeoutMs): Promise<ModbusResult> {
    this.waiting++
    const run = this.queue.then(() => this.send(unitId, req, timeoutMs))
    this.queue = run.catch(() => undefined)
    return run.finally(() => this.waiting--)
  }

  private async send(unitId: number, req: ModbusRequest, timeoutMs: number): Promise<ModbusResult> {
    await this.connect()
    const client = this.client
    if (!client) throw new ModbusConnectionError(`${this.where} is not open`)
    const broadcast = unitId === 0
    if (broadcast && req.fc <= 4) throw new Error('unit 0 is broadcast: it takes writes only (no device answers a read)')
    client.setTimeout(broadcast ? this.turnaroundMs : timeoutMs)
    return new Promise<ModbusResult>((resolve, reject) => {
      const done = <T>(map: (data: T) => ModbusResult) => (err: (Error & {errno?: string; modbusCode?: number}) | null, data: T) => {
        if (!err) return resolve(map(data))
        if (err.errno === 'ETIMEDOUT' || /timed out/i.test(err.message)) return broadcast ? resolve(undefined) : reject(new ModbusTimeoutError(unitId, timeoutMs))
        if (/CRC error/.test(err.message)) return reject(new ModbusCrcError(unitId, this.where))
        if (err.modbusCode !== undefined) return reject(new ModbusException(err.modbusCode))
        if (/port not open|not open/i.test(err.message)) return reject(new ModbusConnectionError(`${this.where} closed`))
        reject(err)
      }
      const bits = (count: number) => (d: {data: boolean[]}) => d.data.slice(0, count)
      const regs = (d: {data: number[]}) => d.data
      switch (req.fc) {
        case 1:
          return client.writeFC1(unitId, req.address, req.count, done(bits(req.count)))
        case 2:
          return client.writeFC2(unitId, req.address, req.count, done(bits(req.count)))
        case 3:
          return client.writeFC3(unitId, req.address, req.count, done(regs))
        case 4:
          return client.writeFC4(unitId, req.address, req.count, done(regs))
        case 5:
          return client.writeFC5(unitId, req.address, req.value, done(() => undefined))
        case 6:
          return client.writeFC6(unitId, req.address, req.value, done(() => undefined))
        case 15:
          return client.writeFC15(unitId, req.address, req.values, done(() => undefined))
        case 16:
          return client.writeFC16(unitId, req.address, req.values, done(() => undefined))
      }
    })
  }

  async close(): Promise<void> {
    const client = this.client
    this.client = undefined
    if (client?.isOpen) await new Promise<void>((resolve) => client.close(() => resolve()))
  }
}
