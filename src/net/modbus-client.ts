import {createConnection, type Socket} from 'node:net'
import {encodeFrame, FrameReader, type Frame} from '../modbus/mbap.js'
import {decodeResponse, encodeRequest, type ModbusRequest, type ModbusResult} from '../modbus/pdu.js'
import {READ_FUNCTION, type Table} from '../modbus/types.js'

/**
 * A Modbus TCP client for one host:port. Several requests may be in flight at once (for different unit ids behind
 * one gateway, say), paired with their answers by transaction id; each has its own timeout. Failures are typed so
 * callers can tell a device that did not answer (ModbusTimeoutError) from one that refused (ModbusException, from
 * src/modbus/pdu.ts) and from a lost connection (ModbusConnectionError).
 */

export class ModbusTimeoutError extends Error {
  constructor(unitId: number, ms: number) {
    super(`unit ${unitId} did not answer within ${ms}ms`)
    this.name = 'ModbusTimeoutError'
  }
}

export class ModbusConnectionError extends Error {
  readonly code?: string
  constructor(message: string, code?: string) {
    super(message)
    this.name = 'ModbusConnectionError'
    this.code = code
  }
}

export interface ModbusClientOptions {
  host: string
  port: number
  /** Per-request timeout (default 1000 ms). */
  timeoutMs?: number
  /** TCP connect timeout (default 3000 ms). */
  connectTimeoutMs?: number
}

interface Pending {
  unitId: number
  req: ModbusRequest
  timer: NodeJS.Timeout
  resolve(result: ModbusResult): void
  reject(error: Error): void
}

/**
 * What every Modbus client offers on top of its one `request`: reads of any table and writes of registers and coils
 * with the function codes the protocol prescribes. Shared by the TCP client here and the RTU client.
 */
export abstract class ModbusRequester {
  abstract request(unitId: number, req: ModbusRequest, timeoutMs?: number): Promise<ModbusResult>

  async readRegisters(unitId: number, table: 'holding' | 'input', address: number, count: number, timeoutMs?: number): Promise<number[]> {
    return (await this.request(unitId, {fc: READ_FUNCTION[table] as 3 | 4, address, count}, timeoutMs)) as number[]
  }

  async readBits(unitId: number, table: 'coil' | 'discrete', address: number, count: number, timeoutMs?: number): Promise<boolean[]> {
    return (await this.request(unitId, {fc: READ_FUNCTION[table] as 1 | 2, address, count}, timeoutMs)) as boolean[]
  }

  /** Reads `count` registers or bits from any table. */
  async read(unitId: number, table: Table, address: number, count: number, timeoutMs?: number): Promise<number[] | boolean[]> {
    return table === 'coil' || table === 'discrete' ? this.readBits(unitId, table, address, count, timeoutMs) : this.readRegisters(unitId, table, address, count, timeoutMs)
  }

  /** FC 6 for one register, FC 16 for several. */
  async writeRegisters(unitId: number, address: number, values: number[], timeoutMs?: number): Promise<void> {
    await this.request(unitId, values.length === 1 ? {fc: 6, address, value: values[0]} : {fc: 16, address, values}, timeoutMs)
  }

  /** FC 5 for one coil, FC 15 for several. */
  async writeCoils(unitId: number, address: number, values: boolean[], timeoutMs?: number): Promise<void> {
    await this.request(unitId, values.length === 1 ? {fc: 5, address, value: values[0]} : {fc: 15, address, values}, timeoutMs)
  }

}

export class ModbusTcpClient extends ModbusRequester {
  readonly host: string
  readonly port: number
  private socket: Socket | undefined
  private connecting: Promise<void> | undefined
  private nextTid = 1
  private readonly pending = new Map<number, Pending>()
  private readonly timeoutMs: number
  private readonly connectTimeoutMs: number

  constructor(options: ModbusClientOptions) {
    super()
    this.host = options.host
    this.port = options.port
    this.timeoutMs = options.timeoutMs ?? 1000
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3000
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed && this.connecting === undefined
  }

  get inFlight(): number {
    return this.pending.size
  }

  /** Connects (once; concurrent callers share the attempt). Rejects with ModbusConnectionError. */
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve()
    if (this.connecting) return this.connecting
    this.connecting = new Promise<void>((resolve, reject) => {
      const socket = createConnection({host: this.host, port: this.port, noDelay: true})
      const reader = new FrameReader()
      const timer = setTimeout(() => {
        socket.destroy()
        fail(new ModbusConnectionError(`connect to ${this.host}:${this.port} timed out after ${this.connectTimeoutMs}ms`, 'ETIMEDOUT'))
      }, this.connectTimeoutMs)
      const fail = (error: ModbusConnectionError) => {
        clearTimeout(timer)
        this.connecting = undefined
        reject(error)
      }
      socket.once('connect', () => {
        clearTimeout(timer)
        this.socket = socket
        this.connecting = undefined
        resolve()
      })
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (this.connecting) fail(new ModbusConnectionError(`cannot connect to ${this.host}:${this.port} (${err.code ?? err.message})`, err.code))
      })
      socket.on('close', () => {
        if (this.socket === socket) this.socket = undefined
        this.failAll(new ModbusConnectionError(`connection to ${this.host}:${this.port} closed`, 'ECONNRESET'))
      })
      socket.on('data', (chunk: Buffer) => {
        let frames: Frame[]
        try {
          frames = reader.push(chunk)
        } catch (error) {
          socket.destroy(error as Error)
          return
        }
        for (const f of frames) this.settle(f)
      })
    })
    return this.connecting
  }

  /** Sends one request to `unitId` and resolves with its decoded answer. */
  async request(unitId: number, req: ModbusRequest, timeoutMs = this.timeoutMs): Promise<ModbusResult> {
    await this.connect()
    const socket = this.socket
    if (!socket) throw new ModbusConnectionError(`not connected to ${this.host}:${this.port}`)
    // Transaction ids are 16-bit; skip any still waiting (a long-delayed answer) rather than confuse two requests.
    let tid = this.nextTid
    while (this.pending.has(tid)) tid = (tid + 1) & 0xffff
    this.nextTid = (tid + 1) & 0xffff
    return new Promise<ModbusResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(tid)
        reject(new ModbusTimeoutError(unitId, timeoutMs))
      }, timeoutMs)
      this.pending.set(tid, {unitId, req, timer, resolve, reject})
      socket.write(encodeFrame(tid, unitId, encodeRequest(req)))
    })
  }

  /** Closes the connection; requests in flight fail with ModbusConnectionError. Safe to call more than once. */
  async close(): Promise<void> {
    const socket = this.socket
    this.socket = undefined
    this.failAll(new ModbusConnectionError('client closed'))
    if (!socket || socket.destroyed) return
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve())
      socket.end()
      // A peer that never closes its side must not hold us.
      setTimeout(() => socket.destroy(), 500).unref()
    })
  }

  private settle(frame: Frame): void {
    const p = this.pending.get(frame.transactionId)
    // An answer after its timeout (or to someone else) is dropped: its request was already failed.
    if (!p || p.unitId !== frame.unitId) return
    this.pending.delete(frame.transactionId)
    clearTimeout(p.timer)
    try {
      p.resolve(decodeResponse(p.req, frame.pdu))
    } catch (error) {
      p.reject(error as Error)
    }
  }

  private failAll(error: Error): void {
    for (const [tid, p] of this.pending) {
      clearTimeout(p.timer)
      this.pending.delete(tid)
      p.reject(error)
    }
  }
}
