import {describe, expect, it} from 'vitest'
import {mergeSimSummaries} from '../../../src/report/sim-merge.js'
import {makeSummary} from '../../fixtures/report/sim-data.js'

describe('mergeSimSummaries', () => {
  it('adds a counter only some shards have (unsent) as 0 where it is missing, whichever shard comes first', () => {
    const without = {...makeSummary(), shard: {index: 0, count: 2}}
    const base = makeSummary()
    const withUnsent = {...base, shard: {index: 1, count: 2}, totals: {...base.totals, dropped: base.totals.dropped + 3, unsent: 3}}
    for (const parts of [
      [without, withUnsent],
      [withUnsent, without],
    ]) {
      const merged = mergeSimSummaries(parts)
      expect(merged.totals.unsent).toBe(3)
      expect(merged.totals.dropped).toBe(2 * base.totals.dropped + 3)
      expect(merged.totals.published).toBe(2 * base.totals.published)
    }
  })
})
