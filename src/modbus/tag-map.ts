import {z} from 'zod'
import {resolveAddress} from './address.js'
import {TABLES, TAG_TYPES, WORD_ORDERS, isBitTable, wordsOf, MAX_READ_REGISTERS, type ResolvedTag, type Table, type TagType, type WordOrder} from './types.js'

/**
 * The tag map: one format for simulated devices (scenario `modbus:`), the polling source and `iotd modbus`.
 * `tagFields` is the zod shape of one tag as written; `resolveTagList` applies the device's addressBase and order,
 * checks types against tables, overlaps and limits, and returns every problem with its path.
 */

export const TAG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export const tagFields = {
  name: z.string().regex(TAG_NAME, 'a tag name must be an identifier (letters, digits, _)'),
  table: z.enum(TABLES).optional().meta({description: 'coil, discrete, input or holding; omit when address is in 4xxxx/3xxxx notation.'}),
  address: z
    .union([z.number(), z.string()])
    .meta({description: 'A number in the device\'s addressBase (with table), or 4xxxx/3xxxx/1xxxx/0xxxx notation (1-based: 40001 = holding offset 0).'}),
  type: z.enum(TAG_TYPES).optional().meta({description: 'bool (coils, discrete inputs), bit, int16, uint16 (default for registers), int32, uint32, float32, int64, uint64, float64, string.'}),
  order: z.enum(WORD_ORDERS).optional().meta({description: 'Word/byte order for this tag (default: the device\'s order, ABCD).'}),
  bit: z.number().int().min(0, 'bit must be 0..15').max(15, 'bit must be 0..15').optional().meta({description: 'Bit 0..15 (0 = least significant) for type bit.'}),
  length: z.number().int().min(1, 'length must be at least 1').max(MAX_READ_REGISTERS * 2, `length must be at most ${MAX_READ_REGISTERS * 2} characters`).optional().meta({description: 'Characters (bytes) of a string tag; two per register.'}),
  scale: z.number().refine((s) => s !== 0, 'scale must not be 0').optional().meta({description: 'engineering = raw × scale + offset (default 1).'}),
  offset: z.number().optional().meta({description: 'engineering = raw × scale + offset (default 0).'}),
  unit: z.string().optional().meta({description: 'Engineering unit, for display.'}),
}

export const deviceMapFields = {
  addressBase: z.union([z.literal(0), z.literal(1)]).optional().meta({description: 'Base of plain numeric addresses: 0 = protocol offsets (default), 1 = register numbers counted from 1.'}),
  order: z.enum(WORD_ORDERS).optional().meta({description: 'Default word/byte order of the device\'s multi-register values (default ABCD, big-endian).'}),
}

export interface RawTag {
  name: string
  table?: Table
  address: number | string
  type?: TagType
  order?: WordOrder
  bit?: number
  length?: number
  scale?: number
  offset?: number
  unit?: string
  writable?: boolean
}

export interface TagProblem {
  /** Path relative to the tag list, e.g. [3, 'address']. */
  path: PropertyKey[]
  message: string
}

export interface DeviceMapOptions {
  addressBase?: 0 | 1
  order?: WordOrder
}

export function resolveTag(raw: RawTag, options: DeviceMapOptions, problems: TagProblem[], index: number): ResolvedTag | undefined {
  const at = (key: string) => [index, key]
  const where = resolveAddress(raw.address, raw.table, {addressBase: options.addressBase ?? 0})
  if (!where.ok) {
    problems.push({path: at('address'), message: where.message})
    return undefined
  }
  const table = where.table
  const type: TagType = raw.type ?? (isBitTable(table) ? 'bool' : 'uint16')
  const before = problems.length
  if (isBitTable(table) && type !== 'bool') problems.push({path: at('type'), message: `a ${table} holds one bit: type must be bool, not ${type}`})
  if (!isBitTable(table) && type === 'bool') problems.push({path: at('type'), message: `type bool is for coils and discrete inputs; in a ${table} register use type bit with bit: 0..15`})
  if (type === 'bit' && raw.bit === undefined) problems.push({path: at('type'), message: 'type bit needs bit: 0..15'})
  if (type !== 'bit' && raw.bit !== undefined) problems.push({path: at('bit'), message: `bit only applies to type bit (this tag is ${type})`})
  if (type === 'string' && raw.length === undefined) problems.push({path: at('type'), message: 'type string needs length (characters, two per register)'})
  if (type !== 'string' && raw.length !== undefined) problems.push({path: at('length'), message: `length only applies to type string (this tag is ${type})`})
  if ((type === 'bool' || type === 'bit' || type === 'string') && (raw.scale !== undefined || raw.offset !== undefined)) {
    problems.push({path: at(raw.scale !== undefined ? 'scale' : 'offset'), message: `scale and offset apply to numbers, not ${type}`})
  }
  if (raw.writable && (table === 'input' || table === 'discrete')) problems.push({path: at('writable'), message: `${table} ${table === 'input' ? 'registers' : 'inputs'} are read-only in Modbus; writable needs table holding or coil`})
  const words = wordsOf(type, raw.length)
  if (where.offset + words > 65536) problems.push({path: at('address'), message: `the tag runs past the last address (offset ${where.offset} + ${words} > 65536)`})
  if (problems.length > before) return undefined
  const tag: ResolvedTag = {
    name: raw.name,
    table,
    address: where.offset,
    type,
    order: raw.order ?? options.order ?? 'ABCD',
    words,
    scale: raw.scale ?? 1,
    offset: raw.offset ?? 0,
    writable: raw.writable ?? false,
  }
  if (raw.bit !== undefined) tag.bit = raw.bit
  if (raw.length !== undefined) tag.length = raw.length
  if (raw.unit !== undefined) tag.unit = raw.unit
  return tag
}

/** Resolves a device's tags; `problems` collects every issue (names, overlaps, types). */
export function resolveTagList(raws: readonly RawTag[], options: DeviceMapOptions): {tags: ResolvedTag[]; problems: TagProblem[]} {
  const problems: TagProblem[] = []
  const tags: ResolvedTag[] = []
  const names = new Map<string, number>()
  raws.forEach((raw, i) => {
    const first = names.get(raw.name)
    if (first !== undefined) problems.push({path: [i, 'name'], message: `duplicate tag name "${raw.name}" (also tags[${first}])`})
    else names.set(raw.name, i)
    const tag = resolveTag(raw, options, problems, i)
    if (tag) tags.push(tag)
  })
  // Two tags on the same register would fight over it; bit tags may share a register, each with its own bit.
  const owner = new Map<string, {tag: ResolvedTag; i: number}>()
  tags.forEach((tag) => {
    const i = raws.findIndex((r) => r.name === tag.name)
    for (let k = 0; k < tag.words; k++) {
      const key = `${tag.table}:${tag.address + k}`
      const other = owner.get(key)
      if (other && !(tag.type === 'bit' && other.tag.type === 'bit')) {
        problems.push({path: [i, 'address'], message: `tag ${tag.name} overlaps tag ${other.tag.name} at ${tag.table} offset ${tag.address + k}`})
        break
      }
      if (other && other.tag.bit === tag.bit) {
        problems.push({path: [i, 'bit'], message: `tags ${other.tag.name} and ${tag.name} use the same bit ${tag.bit} of ${tag.table} offset ${tag.address}`})
        break
      }
      owner.set(key, {tag, i})
    }
  })
  return {tags, problems}
}
