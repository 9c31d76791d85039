import {describe, expect, it} from 'vitest'
import {BenchTimeline} from '../../../src/bench/bench-timeline.js'
import {SecondCounts, runSecondOf} from '../../../src/bench/second-counts.js'
import {createHistogram, encodeHistogram, recordMicros} from '../../../src/metrics/histogram.js'
import type {BenchWorkerStats} from '../../../src/bench/protocol.js'

const T0 = Date.parse('2026-12-06T21:00:00.000Z')

function encoded(values: number[]): string {
  const h = createHistogram()
  for (const v of values) recordMicros(h, v)
  const out = encodeHistogram(h)
  h.destroy()
  return out
}

/** A worker report carrying only what the timeline reads. */
function report(second: number | null, sent: Array<[number, number]>, received: Array<[number, number]>, latencyUs: number[] = []): BenchWorkerStats {
  const empty = encoded([])
  return {
    workerId: 0,
    intervalMs: 1000,
    counts: {} as BenchWorkerStats['counts'],
    latency: encoded(latencyUs),
    uncorrected: empty,
    ack: empty,
    connect: empty,
    eventLoopLagP99Ms: 0,
    eventLoopLagRunP99Ms: 0,
    worstScheduleLagMs: 0,
    lastArrivalUs: 0,
    firstArrivalUs: 0,
    second,
    sentBySecond: sent,
    receivedBySecond: received,
  }
}

describe('runSecondOf and SecondCounts', () => {
  it('counts each event in the second it belongs to, warm-up seconds negative, and hands each count over once', () => {
    const from = 5_000_000
    expect([4_999_999, 5_000_000, 5_999_999, 6_000_000].map((us) => runSecondOf(us, from))).toEqual([-1, 0, 0, 1])
    const counts = new SecondCounts()
    counts.add(0, 3)
    counts.add(1)
    counts.add(0, 2)
    expect(counts.take()).toEqual([
      [0, 5],
      [1, 1],
    ])
    expect(counts.take()).toEqual([])
  })
})

describe('BenchTimeline', () => {
  it('labels every row by the second it covers, whenever the report carrying it came, and sums exactly', () => {
    const timeline = new BenchTimeline('latency', T0)
    // Two workers; the second one's report for second 1 arrives after second 2's (a busy thread).
    timeline.absorb(report(0, [[0, 1000]], [[0, 990]], [1000, 2000]))
    timeline.absorb(report(0, [[0, 1000]], [[0, 1000]], [3000]))
    timeline.absorb(report(1, [[1, 1000]], [[1, 1005]]))
    timeline.absorb(report(2, [[2, 3000]], [[2, 2990]]))
    timeline.absorb(report(1, [[1, 1000], [2, 1]], [[1, 1000]]))
    // Warm-up seconds are not in the timeline of the measured window.
    timeline.absorb(report(-1, [[-1, 500]], [[-1, 500]]))
    const points = timeline.points(true)
    expect(points.map((p) => p.t - T0)).toEqual([0, 1000, 2000])
    expect(points.map((p) => p.sentPerSec)).toEqual([2000, 2000, 3001])
    expect(points.map((p) => p.receivedPerSec)).toEqual([1990, 2005, 2990])
    expect(points[0].p50).toBe(2)
    expect(points[1].p50).toBeNull()
    // The live view's last complete second, and a warm-up second.
    expect(timeline.second(2)).toMatchObject({sent: 3001, received: 2990})
    expect(timeline.second(-1)).toMatchObject({sent: 500, received: 500})
    expect(timeline.secondAt(T0 + 2500)).toBe(2)
  })

  it('keeps a silent second as a row of zeros, and leaves out the received column without a receiver', () => {
    const timeline = new BenchTimeline('ack', T0)
    timeline.absorb(report(0, [[0, 10]], []))
    timeline.absorb(report(2, [[2, 10]], []))
    expect(timeline.points(false).map((p) => [p.sentPerSec, p.receivedPerSec])).toEqual([
      [10, null],
      [0, null],
      [10, null],
    ])
  })
})
