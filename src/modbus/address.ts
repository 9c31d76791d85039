import type {Table} from './types.js'

/**
 * Modbus addresses as people write them. On the wire an address is a 0-based offset into one table; manuals often
 * use the 1-based "Modicon" notation instead, where the first digit names the table (0xxxx coils, 1xxxx discrete
 * inputs, 3xxxx input registers, 4xxxx holding registers) and the rest counts from 1: 40001 is holding offset 0.
 * Mixing the two is the classic off-by-one, so iotd accepts the notation only where it cannot be mistaken for an
 * offset (a five- or six-digit number with no `table` given, or a string) and makes the base of plain numbers
 * explicit (`addressBase: 0 | 1`).
 */

const NOTATION_TABLE: Record<string, Table> = {'0': 'coil', '1': 'discrete', '3': 'input', '4': 'holding'}

export interface NotationAddress {
  table: Table
  /** 0-based protocol offset. */
  offset: number
}

/**
 * Parses `40001`, `"40001"`, `400001` (six digits reach offset 65535) or `"00017"` (a coil). Returns undefined when
 * the text is not in the notation, and throws with the reason when it looks like it but is out of range.
 */
export function parseNotation(input: number | string): NotationAddress | undefined {
  const text = typeof input === 'number' ? String(input) : input.trim()
  if (!/^\d{5,6}$/.test(text)) return undefined
  // A number loses its leading zeros, so coils (0xxxx) can only be written as strings.
  const table = NOTATION_TABLE[text[0]]
  if (!table) throw new Error(`"${text}" is not in 0xxxx/1xxxx/3xxxx/4xxxx notation: the first digit must be 0, 1, 3 or 4`)
  const number = Number(text.slice(1))
  const max = text.length === 5 ? 9999 : 65536
  if (number < 1 || number > max) throw new Error(`"${text}": the register number after the table digit must be 1..${max} (it counts from 1)`)
  return {table, offset: number - 1}
}

/** `holding 0` → `40001` (or `400001` beyond 9999), for messages and `iotd modbus read` output. */
export function formatNotation(table: Table, offset: number): string {
  const digit = {coil: '0', discrete: '1', input: '3', holding: '4'}[table]
  const number = offset + 1
  return number > 9999 ? `${digit}${String(number).padStart(5, '0')}` : `${digit}${String(number).padStart(4, '0')}`
}

export interface AddressOptions {
  /** Base of plain numeric addresses: 0 = protocol offsets (default), 1 = register numbers counted from 1. */
  addressBase: 0 | 1
}

export type ResolvedAddress = {ok: true; table: Table; offset: number} | {ok: false; message: string}

/**
 * Resolves a tag's address: with `table`, a plain number in the device's addressBase; without it, the 4xxxx
 * notation (a number ≥ 10001 or a string).
 */
export function resolveAddress(address: number | string, table: Table | undefined, options: AddressOptions): ResolvedAddress {
  if (typeof address === 'string' || table === undefined) {
    let notation: NotationAddress | undefined
    try {
      notation = parseNotation(address)
    } catch (error) {
      return {ok: false, message: (error as Error).message}
    }
    if (!notation) {
      return typeof address === 'string'
        ? {ok: false, message: `address "${address}" is not in 4xxxx notation; write a number with table: holding|input|coil|discrete`}
        : {ok: false, message: `address ${address} needs a table (holding, input, coil, discrete), or write it in 4xxxx notation (40001 = holding offset 0)`}
    }
    if (table !== undefined && table !== notation.table) {
      return {ok: false, message: `address "${address}" is a ${notation.table} address in 4xxxx notation, but table is ${table}`}
    }
    return {ok: true, ...notation}
  }
  if (!Number.isInteger(address)) return {ok: false, message: `address must be a whole number, got ${address}`}
  const offset = address - options.addressBase
  if (offset < 0) return {ok: false, message: `address ${address} is below addressBase ${options.addressBase}`}
  if (offset > 65535) return {ok: false, message: `address ${address} is beyond the last register (protocol offset 65535)`}
  return {ok: true, table, offset}
}
