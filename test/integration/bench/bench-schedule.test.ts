import {beforeAll, expect, it} from 'vitest'
import {runBench} from '../../../src/bench/run-bench.js'
import {measuredWindowMs} from '../../../src/bench/bench-result.js'
import {benchRequest} from '../../helpers/bench-request.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'

/**
 * A run on a schedule is measured over the schedule: its window is the planned length (not the span of the sends,
 * which ends at the last message), and its target is the configured rate.
 */
describeMosquitto('iotd bench: the window and target of a scheduled run', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
  })

  it('-r 100/s -d 1s: measured 1 s, target 100/s (not 101 over the 991 ms to the last send)', async () => {
    const {result} = await runBench(benchRequest(broker.url, {rate: '100/s', durationMs: 1000}, {publishers: 1}))
    expect(result.counts.planned).toBe(100)
    expect(result.counts.sent).toBe(100)
    expect(measuredWindowMs(result.meta)).toBe(1000)
    expect(result.rate.targetPerSec).toBe(100)
    expect(result.rate.achievedPerSec).toBe(100)
  }, 30_000)

  it('-r 7/s -d 3s over 3 publishers: target 7/s, as the header says', async () => {
    const {result} = await runBench(benchRequest(broker.url, {rate: '7/s', durationMs: 3000}, {publishers: 3}))
    expect(result.counts.planned).toBe(21)
    expect(result.rate.targetPerSec).toBe(7)
    expect(measuredWindowMs(result.meta)).toBe(3000)
  }, 30_000)
})
