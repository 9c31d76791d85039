import {exceptionName, MAX_READ_BITS, MAX_READ_REGISTERS, MAX_WRITE_BITS, MAX_WRITE_REGISTERS} from './types.js'

/**
 * Modbus PDUs (function code + data) for function codes 1, 2, 3, 4, 5, 6, 15 and 16, both directions, and the
 * server-side dispatch onto a register bank. Pure functions over Buffers: the sockets are in src/net.
 */

export type ModbusRequest =
  | {fc: 1 | 2 | 3 | 4; address: number; count: number}
  | {fc: 5; address: number; value: boolean}
  | {fc: 6; address: number; value: number}
  | {fc: 15; address: number; values: boolean[]}
  | {fc: 16; address: number; values: number[]}

/** A Modbus exception answer (function code | 0x80, exception code). */
export class ModbusException extends Error {
  readonly code: number
  constructor(code: number, detail?: string) {
    super(`Modbus exception ${code} (${exceptionName(code)})${detail ? `: ${detail}` : ''}`)
    this.name = 'ModbusException'
    this.code = code
  }
}

export function encodeRequest(req: ModbusRequest): Buffer {
  switch (req.fc) {
    case 1:
    case 2:
    case 3:
    case 4: {
      const b = Buffer.alloc(5)
      b[0] = req.fc
      b.writeUInt16BE(req.address, 1)
      b.writeUInt16BE(req.count, 3)
      return b
    }
    case 5: {
      const b = Buffer.alloc(5)
      b[0] = 5
      b.writeUInt16BE(req.address, 1)
      b.writeUInt16BE(req.value ? 0xff00 : 0x0000, 3)
      return b
    }
    case 6: {
      const b = Buffer.alloc(5)
      b[0] = 6
      b.writeUInt16BE(req.address, 1)
      b.writeUInt16BE(req.value & 0xffff, 3)
      return b
    }
    case 15: {
      const bytes = Math.ceil(req.values.length / 8)
      const b = Buffer.alloc(6 + bytes)
      b[0] = 15
      b.writeUInt16BE(req.address, 1)
      b.writeUInt16BE(req.values.length, 3)
      b[5] = bytes
      req.values.forEach((v, i) => {
        if (v) b[6 + (i >> 3)] |= 1 << (i & 7)
      })
      return b
    }
    case 16: {
      const b = Buffer.alloc(6 + req.values.length * 2)
      b[0] = 16
      b.writeUInt16BE(req.address, 1)
      b.writeUInt16BE(req.values.length, 3)
      b[5] = req.values.length * 2
      req.values.forEach((v, i) => b.writeUInt16BE(v & 0xffff, 6 + 2 * i))
      return b
    }
  }
}

/** Parses a request PDU; throws ModbusException 1 (unknown function) or 3 (malformed quantity or length). */
export function decodeRequest(pdu: Buffer): ModbusRequest {
  if (pdu.length < 1) throw new ModbusException(1, 'empty PDU')
  const fc = pdu[0]
  if (![1, 2, 3, 4, 5, 6, 15, 16].includes(fc)) throw new ModbusException(1, `function code ${fc} is not supported`)
  if (pdu.length < 5) throw new ModbusException(3, `function ${fc}: PDU too short`)
  const address = pdu.readUInt16BE(1)
  const q = pdu.readUInt16BE(3)
  switch (fc) {
    case 1:
    case 2:
      if (q < 1 || q > MAX_READ_BITS) throw new ModbusException(3, `quantity ${q} outside 1..${MAX_READ_BITS}`)
      return {fc, address, count: q}
    case 3:
    case 4:
      if (q < 1 || q > MAX_READ_REGISTERS) throw new ModbusException(3, `quantity ${q} outside 1..${MAX_READ_REGISTERS}`)
      return {fc, address, count: q}
    case 5:
      if (q !== 0xff00 && q !== 0) throw new ModbusException(3, 'a coil value must be 0xFF00 or 0x0000')
      return {fc, address, value: q === 0xff00}
    case 6:
      return {fc, address, value: q}
    case 15: {
      const bytes = pdu[5]
      if (q < 1 || q > MAX_WRITE_BITS || bytes !== Math.ceil(q / 8) || pdu.length < 6 + bytes) throw new ModbusException(3, 'quantity and byte count disagree')
      const values: boolean[] = []
      for (let i = 0; i < q; i++) values.push(((pdu[6 + (i >> 3)] >> (i & 7)) & 1) === 1)
      return {fc, address, values}
    }
    case 16: {
      const bytes = pdu[5]
      if (q < 1 || q > MAX_WRITE_REGISTERS || bytes !== q * 2 || pdu.length < 6 + bytes) throw new ModbusException(3, 'quantity and byte count disagree')
      const values: number[] = []
      for (let i = 0; i < q; i++) values.push(pdu.readUInt16BE(6 + 2 * i))
      return {fc, address, values}
    }
  }
  throw new ModbusException(1)
}

export function encodeException(fc: number, code: number): Buffer {
  return Buffer.from([(fc | 0x80) & 0xff, code & 0xff])
}

/** What a read returns: registers as numbers, bits as booleans; writes return nothing. */
export type ModbusResult = number[] | boolean[] | undefined

export function encodeResponse(req: ModbusRequest, result: ModbusResult): Buffer {
  switch (req.fc) {
    case 1:
    case 2: {
      const bits = result as boolean[]
      const bytes = Math.ceil(req.count / 8)
      const b = Buffer.alloc(2 + bytes)
      b[0] = req.fc
      b[1] = bytes
      for (let i = 0; i < req.count; i++) if (bits[i]) b[2 + (i >> 3)] |= 1 << (i & 7)
      return b
    }
    case 3:
    case 4: {
      const words = result as number[]
      const b = Buffer.alloc(2 + req.count * 2)
      b[0] = req.fc
      b[1] = req.count * 2
      for (let i = 0; i < req.count; i++) b.writeUInt16BE(words[i] & 0xffff, 2 + 2 * i)
      return b
    }
    case 5:
    case 6:
      // The normal answer to a single write echoes the request.
      return encodeRequest(req)
    case 15:
    case 16: {
      const b = Buffer.alloc(5)
      b[0] = req.fc
      b.writeUInt16BE(req.address, 1)
      b.writeUInt16BE(req.values.length, 3)
      return b
    }
  }
}

/** Parses a response PDU for `req`; throws ModbusException for an exception answer, Error for a malformed one. */
export function decodeResponse(req: ModbusRequest, pdu: Buffer): ModbusResult {
  if (pdu.length >= 2 && pdu[0] === (req.fc | 0x80)) throw new ModbusException(pdu[1])
  if (pdu[0] !== req.fc) throw new Error(`response has function code ${pdu[0]}, expected ${req.fc}`)
  switch (req.fc) {
    case 1:
    case 2: {
      const bytes = Math.ceil(req.count / 8)
      if (pdu[1] !== bytes || pdu.length < 2 + bytes) throw new Error(`response carries ${pdu[1]} bytes for ${req.count} bits`)
      const out: boolean[] = []
      for (let i = 0; i < req.count; i++) out.push(((pdu[2 + (i >> 3)] >> (i & 7)) & 1) === 1)
      return out
    }
    case 3:
    case 4: {
      if (pdu[1] !== req.count * 2 || pdu.length < 2 + req.count * 2) throw new Error(`response carries ${pdu[1]} bytes for ${req.count} registers`)
      const out: number[] = []
      for (let i = 0; i < req.count; i++) out.push(pdu.readUInt16BE(2 + 2 * i))
      return out
    }
    default:
      if (pdu.length < 5) throw new Error('write response too short')
      return undefined
  }
}

/**
 * What a server-side device offers. Each method throws ModbusException(2) for addresses it does not have (or that
 * are read-only, for writes) and must change nothing when it throws.
 */
export interface RegisterBank {
  readBits(table: 'coil' | 'discrete', address: number, count: number): boolean[]
  readRegisters(table: 'holding' | 'input', address: number, count: number): number[]
  writeCoils(address: number, values: boolean[]): void
  writeRegisters(address: number, values: number[]): void
}

/** Answers one request PDU from a bank: the response PDU, or an exception PDU. */
export function handleRequest(pdu: Buffer, bank: RegisterBank): Buffer {
  let req: ModbusRequest
  try {
    req = decodeRequest(pdu)
  } catch (error) {
    if (error instanceof ModbusException) return encodeException(pdu[0] ?? 0, error.code)
    throw error
  }
  if (req.fc <= 4 && 'count' in req && req.address + req.count > 65536) return encodeException(req.fc, 2)
  try {
    switch (req.fc) {
      case 1:
        return encodeResponse(req, bank.readBits('coil', req.address, req.count))
      case 2:
        return encodeResponse(req, bank.readBits('discrete', req.address, req.count))
      case 3:
        return encodeResponse(req, bank.readRegisters('holding', req.address, req.count))
      case 4:
        return encodeResponse(req, bank.readRegisters('input', req.address, req.count))
      case 5:
        bank.writeCoils(req.address, [req.value])
        return encodeResponse(req, undefined)
      case 6:
        bank.writeRegisters(req.address, [req.value])
        return encodeResponse(req, undefined)
      case 15:
        bank.writeCoils(req.address, req.values)
        return encodeResponse(req, undefined)
      case 16:
        bank.writeRegisters(req.address, req.values)
        return encodeResponse(req, undefined)
    }
  } catch (error) {
    if (error instanceof ModbusException) return encodeException(req.fc, error.code)
    // A bug in a bank must not take the listener down: the client sees "server device failure".
    return encodeException(req.fc, 4)
  }
}
