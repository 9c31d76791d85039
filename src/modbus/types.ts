/**
 * The Modbus vocabulary shared by the register codec, the poll planner, the simulated devices, the polling source
 * and `iotd modbus`. Pure data: nothing here opens a socket.
 */

/** The four Modbus data tables. */
export const TABLES = ['coil', 'discrete', 'input', 'holding'] as const
export type Table = (typeof TABLES)[number]

export const TAG_TYPES = ['bool', 'bit', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64', 'float64', 'string'] as const
export type TagType = (typeof TAG_TYPES)[number]

/**
 * Word/byte order of multi-byte values, named after where the bytes of the big-endian value A B C D land:
 * ABCD big-endian (the Modbus default), CDAB words swapped, BADC bytes swapped inside each word, DCBA little-endian.
 * For 64-bit values the same two swaps apply to four words (CDAB reverses the word order).
 */
export const WORD_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const
export type WordOrder = (typeof WORD_ORDERS)[number]

/** Protocol limits per request (Modbus Application Protocol v1.1b3, section 6). */
export const MAX_READ_REGISTERS = 125
export const MAX_READ_BITS = 2000
export const MAX_WRITE_REGISTERS = 123
export const MAX_WRITE_BITS = 1968

/** Function codes by table, for reads. */
export const READ_FUNCTION: Record<Table, 1 | 2 | 3 | 4> = {coil: 1, discrete: 2, holding: 3, input: 4}

export function isBitTable(table: Table): table is 'coil' | 'discrete' {
  return table === 'coil' || table === 'discrete'
}

/** Registers a value of this type occupies (bits for bool). */
export function wordsOf(type: TagType, length = 0): number {
  switch (type) {
    case 'bool':
    case 'bit':
    case 'int16':
    case 'uint16':
      return 1
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2
    case 'int64':
    case 'uint64':
    case 'float64':
      return 4
    case 'string':
      return Math.ceil(length / 2)
  }
}

/** A tag after resolution: table and 0-based protocol address known, defaults applied. */
export interface ResolvedTag {
  name: string
  table: Table
  /** 0-based protocol address (what goes on the wire). */
  address: number
  type: TagType
  order: WordOrder
  /** Registers (or bits, for bool) the tag occupies. */
  words: number
  /** Bit number 0..15 (0 = least significant) for type bit. */
  bit?: number
  /** Characters (bytes) for type string. */
  length?: number
  /** engineering = raw × scale + offset. */
  scale: number
  offset: number
  writable: boolean
  /** Engineering unit, for display only. */
  unit?: string
}

export type TagValue = number | boolean | string

/** Standard exception codes (Modbus Application Protocol, section 7). */
export const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
}

export function exceptionName(code: number): string {
  return EXCEPTION_NAMES[code] ?? `exception ${code}`
}
