import {describe, expect, it} from 'vitest'
import {decodeRead, encodeTag, planReads, resolveTagList, type RawTag} from '../../../src/modbus/index.js'

const resolve = (raws: RawTag[]) => {
  const {tags, problems} = resolveTagList(raws, {})
  expect(problems).toEqual([])
  return tags
}

describe('poll planner', () => {
  it('merges contiguous tags of a table into one read and keeps tables apart', () => {
    const tags = resolve([
      {name: 'a', table: 'holding', address: 0, type: 'float32'},
      {name: 'b', table: 'holding', address: 2, type: 'int16'},
      {name: 'c', table: 'holding', address: 10},
      {name: 'd', table: 'input', address: 0},
      {name: 'e', table: 'coil', address: 5},
      {name: 'f', table: 'coil', address: 6},
    ])
    const reads = planReads(tags)
    expect(reads.map((r) => [r.table, r.functionCode, r.address, r.count, r.tags.map((t) => t.name)])).toEqual([
      ['coil', 1, 5, 2, ['e', 'f']],
      ['holding', 3, 0, 3, ['a', 'b']],
      ['holding', 3, 10, 1, ['c']],
      ['input', 4, 0, 1, ['d']],
    ])
    expect(planReads(tags, {maxGap: 7}).filter((r) => r.table === 'holding').map((r) => [r.address, r.count])).toEqual([[0, 11]])
  })

  it('never exceeds 125 registers or 2000 bits per read', () => {
    const regs = Array.from({length: 300}, (_, i) => ({name: `r${i}`, table: 'holding' as const, address: i}))
    const bits = Array.from({length: 4500}, (_, i) => ({name: `b${i}`, table: 'coil' as const, address: i}))
    const reads = planReads(resolve([...regs, ...bits]))
    const hr = reads.filter((r) => r.table === 'holding')
    expect(hr.map((r) => r.count)).toEqual([125, 125, 50])
    expect(reads.filter((r) => r.table === 'coil').map((r) => r.count)).toEqual([2000, 2000, 500])
    // A float32 at the boundary moves to the next read rather than being split.
    const split = planReads(resolve([...Array.from({length: 124}, (_, i) => ({name: `r${i}`, table: 'holding' as const, address: i})), {name: 'f', table: 'holding', address: 124, type: 'float32'}]))
    expect(split.map((r) => [r.address, r.count])).toEqual([[0, 124], [124, 2]])
  })

  it('decodes every tag of a read from the answer', () => {
    const tags = resolve([
      {name: 'a', table: 'holding', address: 0, type: 'float32', order: 'CDAB'},
      {name: 'b', table: 'holding', address: 2, type: 'int16', scale: 0.1},
      {name: 'c', table: 'holding', address: 3, type: 'bit', bit: 15},
    ])
    const [read] = planReads(tags)
    const words = [...encodeTag(tags[0], 12.5), ...encodeTag(tags[1], -3.2), 0x8000]
    expect(decodeRead(read, words)).toEqual({a: 12.5, b: -3.2, c: true})
  })
})
