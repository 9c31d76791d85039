import {decodeTag} from './codec.js'
import {isBitTable, MAX_READ_BITS, MAX_READ_REGISTERS, READ_FUNCTION, type ResolvedTag, type Table, type TagValue} from './types.js'

/**
 * The poll planner: a device's tags become the fewest read requests. Tags of one table are sorted by address and
 * merged while they are contiguous (or at most `maxGap` addresses apart) and the request stays within the
 * protocol's limit (125 registers, 2000 bits). Gaps default to 0 because reading an unmapped address makes many
 * devices answer exception 2 for the whole request.
 */

export interface PlannedRead {
  table: Table
  functionCode: 1 | 2 | 3 | 4
  /** 0-based start address. */
  address: number
  /** Registers or bits. */
  count: number
  tags: ResolvedTag[]
}

export interface PlanOptions {
  maxRegisters?: number
  maxBits?: number
  /** Unmapped addresses a read may span to join two tags (default 0). */
  maxGap?: number
}

export function planReads(tags: readonly ResolvedTag[], options: PlanOptions = {}): PlannedRead[] {
  const maxGap = options.maxGap ?? 0
  const reads: PlannedRead[] = []
  const byTable = new Map<Table, ResolvedTag[]>()
  for (const t of tags) {
    const list = byTable.get(t.table) ?? []
    list.push(t)
    byTable.set(t.table, list)
  }
  for (const table of ['coil', 'discrete', 'holding', 'input'] as const) {
    const list = byTable.get(table)
    if (!list) continue
    const limit = isBitTable(table) ? (options.maxBits ?? MAX_READ_BITS) : (options.maxRegisters ?? MAX_READ_REGISTERS)
    list.sort((a, b) => a.address - b.address || a.words - b.words)
    let current: PlannedRead | undefined
    for (const tag of list) {
      const end = tag.address + tag.words
      if (current && tag.address <= current.address + current.count + maxGap && Math.max(end, current.address + current.count) - current.address <= limit) {
        current.count = Math.max(current.count, end - current.address)
        current.tags.push(tag)
        continue
      }
      current = {table, functionCode: READ_FUNCTION[table], address: tag.address, count: tag.words, tags: [tag]}
      reads.push(current)
    }
  }
  return reads
}

/** Decodes every tag of a read from its answer (registers as numbers, bits as booleans). */
export function decodeRead(read: PlannedRead, data: readonly number[] | readonly boolean[], out: Record<string, TagValue> = {}): Record<string, TagValue> {
  for (const tag of read.tags) {
    const at = tag.address - read.address
    if (isBitTable(read.table)) out[tag.name] = Boolean(data[at])
    else out[tag.name] = decodeTag(tag, (data as readonly number[]).slice(at, at + tag.words))
  }
  return out
}
