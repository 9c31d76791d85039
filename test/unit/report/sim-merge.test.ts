import {describe, expect, it} from 'vitest'
import {mergeSimSummaries, shardsThatDidNothing} from '../../../src/report/sim-merge.js'
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

  it('names the shards that never connected or published nothing, and warns when the shards ran for different times', () => {
    const base = makeSummary()
    const merged = mergeSimSummaries([
      {...base, shard: {index: 0, count: 3}},
      {...base, shard: {index: 1, count: 3}, neverConnected: true, elapsedMs: 1},
      {...base, shard: {index: 2, count: 3}, publishedNothing: true},
    ])
    expect(merged.warnings).toEqual([
      'shard 2/3: no device ever connected to mqtt://plant-broker:1883; it published nothing',
      'shard 3/3: the devices connected to mqtt://plant-broker:1883 but published nothing',
      "the shards ran for different times (1ms to 20s): not one run's length; the merged rates divide by the longest",
    ])
    expect(shardsThatDidNothing([{...base, shard: {index: 0, count: 1}}])).toEqual([])
    // Lengths within a tenth (or a second) of each other are one run's.
    expect(mergeSimSummaries([{...base, shard: {index: 0, count: 2}}, {...base, shard: {index: 1, count: 2}, elapsedMs: 19_000}]).warnings).toEqual([])
  })

  it('refuses with one consistent reason: an invalid first summary alone, "the first is not a shard"', () => {
    const shard = {...makeSummary(), shard: {index: 0, count: 3}}
    expect(() => mergeSimSummaries([{} as never, shard])).toThrow(/^summary 1 is not an iotd sim --json summary \(neither a live run's nor a backfill's\)$/)
    expect(() => mergeSimSummaries([makeSummary(), shard])).toThrow('summary 1 is not a shard (run with --shard i/n or --shards n); summary 2 is shard 1/3, the first is not a shard')
  })
})
