import {describe, expect, it} from 'vitest'
import {mergeSimSummaries} from '../../../src/report/sim-merge.js'
import {evaluateMergedSimThresholds, judgeMergedSummary, parseSimThresholds} from '../../../src/sim/sim-thresholds.js'
import {emptyCounters, type FleetCounters, type LatencyFigures, type SimSummary} from '../../../src/sim/types.js'
import {makeSummary} from '../../fixtures/report/sim-data.js'

/**
 * `iotd sim merge` judges thresholds on the merged figures. Before, it ignored them: shards that each met
 * `errors<=1` merged into 2 errors and exit 0, and `--threshold` did not exist.
 */

const lag = (p99: number, count = 100): LatencyFigures => ({count, p50: p99 / 4, p90: p99 / 2, p99, p999: p99 * 1.5, max: p99 * 2})

/** Shard `index` of `count`: one QoS 0 fleet of 10 devices; `recorded` are the verdicts it wrote (all passed). */
function shard(index: number, count: number, c: Partial<FleetCounters>, more: Partial<SimSummary> = {}, recorded: string[] = []): SimSummary & {shard: {index: number; count: number}} {
  const fleet = {...emptyCounters('f'), target: 10, connected: 10, published: 100, ...c}
  return {
    ...makeSummary(),
    shard: {index, count},
    devices: 10,
    definition: {fingerprint: '0123456789abcdef', devices: 10 * count},
    fleets: [fleet],
    totals: {...fleet, fleet: 'total'},
    delivered: fleet.published,
    publishLag: lag(10),
    // QoS 0: nothing is acknowledged.
    ackLatency: {count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0},
    ...more,
    thresholds: recorded.map((threshold) => ({threshold, ok: true, observed: 0, observedText: '0', limitText: '0'})),
  }
}

const judged = (texts: string[], merged: SimSummary) =>
  evaluateMergedSimThresholds(parseSimThresholds(texts), merged).map((v) => [v.threshold, v.ok, v.observedText])

describe('thresholds judged on merged shards', () => {
  it('judges counts and shares on the summed counters: two shards each within a limit, the whole fleet not', () => {
    const a = shard(0, 2, {errors: 1, dropped: 2, late: 1})
    // Shard 2: 5 of 10 devices connected at the end, and 90 of its 100 due messages delivered.
    const b = shard(1, 2, {errors: 1, dropped: 10, late: 1, connected: 5, published: 90})
    const merged = mergeSimSummaries([a, b])
    expect(judged(['errors<=1', 'dropped<=10', 'late<2', 'connected>=75%', 'connected>80%', 'delivered>=0.94'], merged)).toEqual([
      ['errors<=1', false, '2'],
      ['dropped<=10', false, '12'],
      ['late<2', false, '2'],
      // 15 of 20 devices, exactly.
      ['connected>=75%', true, '75%'],
      ['connected>80%', false, '75%'],
      // 190 delivered of 202 due (190 sent + 12 dropped): 0.9406.
      ['delivered>=0.94', true, '0.941'],
    ])
  })

  it("reads a percentile as the largest shard's, an upper bound, and says so; count and max are exact", () => {
    const merged = mergeSimSummaries([shard(0, 2, {}, {publishLag: lag(10, 100)}), shard(1, 2, {}, {publishLag: lag(40, 30)})])
    expect(judged(['lag.p(99)<50ms', 'lag.p(99)<30ms', 'p(95)<45ms', 'lag.med<20ms', 'lag.max<=80ms', 'lag.p(100)<81ms', 'lag.count==130'], merged)).toEqual([
      // A pass of the upper bound is a pass of the fleet.
      ['p(99)<50ms', true, "40.0ms (upper bound: the largest shard's)"],
      // A fail says that the fleet's own p(99) may be lower.
      ['p(99)<30ms', false, "40.0ms (upper bound: the largest shard's)"],
      // p(95) is not kept: the next percentile above it bounds it.
      ['p(95)<45ms', true, "40.0ms (upper bound: the largest shard's p(99))"],
      ['med<20ms', true, "10.0ms (upper bound: the largest shard's)"],
      ['max<=80ms', true, '80.0ms'],
      ['p(100)<81ms', true, '80.0ms'],
      ['count==130', true, '130'],
    ])
  })

  it('fails what a merge of summaries cannot show: a lower limit met by an upper bound, an equality, avg and min', () => {
    const merged = mergeSimSummaries([shard(0, 2, {}), shard(1, 2, {})])
    expect(judged(['lag.p(50)>1ms', 'lag.p(50)>5ms', 'lag.p(99)==10ms', 'lag.avg<1s', 'lag.min<1s', 'ack.p(99)<1s'], merged)).toEqual([
      ['p(50)>1ms', false, "2.5ms (upper bound: the largest shard's; '>' needs the exact value, which a merge of summaries does not have)"],
      // The upper bound is below the limit: so is the fleet's own value, a plain fail.
      ['p(50)>5ms', false, "2.5ms (upper bound: the largest shard's)"],
      ['p(99)==10ms', false, "10.0ms (upper bound: the largest shard's; '==' needs the exact value, which a merge of summaries does not have)"],
      ['avg<1s', false, "not measured (a shard's summary keeps no avg)"],
      ['min<1s', false, "not measured (a shard's summary keeps no min)"],
      ['ack.p(99)<1s', false, 'no samples'],
    ])
  })

  it("judges by the shards' recorded thresholds by default, every one any shard recorded, warning when they differ", () => {
    const parts = [shard(0, 3, {errors: 1}, {}, ['errors<=1', 'p(99)<50ms']), shard(1, 3, {errors: 1}, {}, ['errors<=1']), shard(2, 3, {}, {}, [])]
    const merged = judgeMergedSummary(mergeSimSummaries(parts), parts, [])
    expect(merged.thresholds?.map((v) => [v.threshold, v.ok, v.observedText])).toEqual([
      ['errors<=1', false, '2'],
      ['p(99)<50ms', true, "10.0ms (upper bound: the largest shard's)"],
    ])
    expect(merged.warnings).toEqual(['the shards recorded different thresholds (shard 2/3 lacks p(99)<50ms; shard 3/3 recorded none): the merge judges every one any shard recorded; --threshold sets them'])
  })

  it('--threshold replaces the shards\' thresholds (no warning about theirs); no thresholds anywhere leaves none', () => {
    const parts = [shard(0, 2, {errors: 1}, {}, ['errors<=1']), shard(1, 2, {errors: 1}, {}, [])]
    const given = judgeMergedSummary(mergeSimSummaries(parts), parts, parseSimThresholds(['errors<=2']))
    expect(given.thresholds?.map((v) => [v.threshold, v.ok])).toEqual([['errors<=2', true]])
    expect(given.warnings).toEqual([])
    const none = [shard(0, 2, {}), shard(1, 2, {})]
    expect(judgeMergedSummary(mergeSimSummaries(none), none, []).thresholds).toBeUndefined()
  })
})
