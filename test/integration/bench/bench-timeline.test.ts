import {beforeAll, expect, it} from 'vitest'
import {runBench, type BenchOutcome} from '../../../src/bench/run-bench.js'
import {mergeResults} from '../../../src/report/bench-merge.js'
import {parseThresholds} from '../../../src/metrics/thresholds.js'
import {openRawConnection} from '../../../src/net/raw-mqtt-connection.js'
import {buildPublishBatch, patchFrame} from '../../../src/bench/publish-frame.js'
import {bottleneckText} from '../../../src/report/bench-summary.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'
import {benchRequest} from '../../helpers/bench-request.js'
import {loadAwareBound} from '../../helpers/load-bound.js'

/**
 * The per-second timeline, sharded runs and the bench's accounting against a private mosquitto: every row is the
 * second it covers, the rows add up to the run's counts in every mode, and shards merged equal one run.
 */

function rowSums(outcome: BenchOutcome): {sent: number; received: number | null} {
  const rows = outcome.result.timeline
  const received = rows.some((r) => r.receivedPerSec === null) ? null : rows.reduce((s, r) => s + (r.receivedPerSec ?? 0), 0)
  return {sent: rows.reduce((s, r) => s + r.sentPerSec, 0), received}
}

describeMosquitto('iotd bench: the per-second timeline', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
  })

  it('3 s at 1,000/s then 3 s at 3,000/s: rows 1000 1000 1000 3000 3000 3000, one a second from the start, summing to the totals', async () => {
    const outcome = await runBench(benchRequest(broker.url, {stages: ['3s:1000/s..1000/s', '3s:3000/s..3000/s']}))
    const {timeline, counts, meta} = outcome.result
    expect(outcome.error).toBeUndefined()
    expect(counts.sent).toBe(12_000)
    // Sends are counted in the second of their intended time: the schedule's, exactly.
    expect(timeline.slice(0, 6).map((r) => r.sentPerSec)).toEqual([1000, 1000, 1000, 3000, 3000, 3000])
    expect(timeline.slice(6).every((r) => r.sentPerSec === 0)).toBe(true)
    // Each row is labelled by the second it covers, from the start of the measured window.
    const start = Date.parse(meta.startedAt) + meta.warmupMs
    expect(timeline.map((r) => r.t - start)).toEqual(timeline.map((_, k) => k * 1000))
    expect(rowSums(outcome)).toEqual({sent: counts.sent, received: counts.received})
    expect(counts.received).toBe(12_000)
  }, 60_000)

  it('a steady 2,000/s run after a warm-up shows 2,000 in every row of the measured window, none doubled', async () => {
    const outcome = await runBench(benchRequest(broker.url, {rate: '2000/s', durationMs: 4000}, {warmupMs: 1000}))
    const {timeline, counts} = outcome.result
    expect(counts.sent).toBe(6000)
    expect(timeline.slice(0, 3).map((r) => r.sentPerSec)).toEqual([2000, 2000, 2000])
    expect(rowSums(outcome)).toEqual({sent: counts.sent, received: counts.received})
    // The rows' latency is of the measured samples only (the warm-up's are in no row).
    expect(timeline.filter((r) => r.p99 !== null).length).toBeGreaterThanOrEqual(3)
  }, 60_000)

  it('publish-only at QoS 1 and saturation: rows sum to the sent count; no received column', async () => {
    const open = await runBench(benchRequest(broker.url, {rate: '1500/s', durationMs: 2000}, {mode: 'pub', subscribers: 0, qos: 1}))
    expect(rowSums(open)).toEqual({sent: open.result.counts.sent, received: null})
    expect(open.result.counts.sent).toBe(3000)
    const max = await runBench(benchRequest(broker.url, {rate: 'max', inflightPerClient: 64}, {mode: 'pub', subscribers: 0, qos: 1, durationMs: 1500, inflight: 64}))
    expect(max.result.counts.sent).toBeGreaterThan(0)
    expect(rowSums(max).sent).toBe(max.result.counts.sent)
  }, 60_000)

  it('connect mode: rows sum to the connection attempts', async () => {
    const outcome = await runBench(benchRequest(broker.url, {rate: '200/s'}, {mode: 'conn', publishers: 300, subscribers: 0}))
    expect(outcome.result.counts.sent).toBe(300)
    expect(rowSums(outcome).sent).toBe(300)
    expect(outcome.result.meta.target.text).toBe('200 conn/s until 300 connections are open')
  }, 60_000)

  it('subscribe-only: rows sum to what was received', async () => {
    let measuring!: () => void
    const started = new Promise<void>((resolve) => (measuring = resolve))
    const sending = (async () => {
      await started
      const socket = await openRawConnection({host: '127.0.0.1', port: broker.port, clientId: 'it-timeline-publisher', protocolVersion: 4})
      socket.resume()
      const frames = buildPublishBatch({topic: 'listen/1', qos: 0, payloadBytes: 64, protocolVersion: 4, publisher: 1}, 1)
      for (let seq = 0; seq < 500; seq++) {
        const now = Date.now() * 1000 + 200_000
        patchFrame(frames, 0, seq, now, now)
        socket.write(Buffer.from(frames.buffer))
      }
      await new Promise<void>((r) => socket.end(() => r()))
    })()
    const outcome = await runBench(
      benchRequest(broker.url, {rate: 'max'}, {mode: 'sub', publishers: 0, subscribers: 2, topic: 'listen/#', durationMs: 2000, onLog: (l) => /clients connected/.test(l) && measuring()}),
    )
    await sending
    expect(outcome.result.counts.received).toBe(1000)
    expect(rowSums(outcome)).toEqual({sent: 0, received: 1000})
    // The rate is over the time the deliveries came, not the 2 s of listening: 500 messages sent at once.
    expect(outcome.result.rate.receivingMs ?? 2000).toBeLessThan(1000)
  }, 60_000)

  it('end to end records the connect times of its clients: a connect.p(99) threshold is judged on them', async () => {
    const outcome = await runBench(benchRequest(broker.url, {rate: '500/s', durationMs: 1000}, {thresholds: parseThresholds(['connect.p(99)<5s'])}))
    expect(outcome.result.histograms.connect?.summary.count).toBe(5)
    expect(outcome.result.thresholds).toMatchObject([{threshold: 'connect.p(99)<5s', ok: true}])
  }, 60_000)

  it('two shards started at one instant merge into exactly the counts and sample counts of one run of the same work', async () => {
    const work = {publishers: 4, subscribers: 2}
    const load = {rate: '2000/s', durationMs: 2000}
    const single = await runBench(benchRequest(broker.url, load, work))
    // Time enough for both to connect first, even on a loaded machine (a late shard says so, and this test fails).
    const startAtMs = Date.now() + 6000
    const shards = await Promise.all(
      [0, 1].map((index) => runBench(benchRequest(broker.url, load, {...work, shard: {index, count: 2}, startAtMs, runId: 'it-two-shards'}))),
    )
    for (const s of shards) {
      expect(s.result.meta.startedAt).toBe(new Date(startAtMs).toISOString())
      // A shard cannot know what the other sent: loss is for the merge.
      expect(s.result.counts.expected).toBeNull()
      expect(s.result.counts.received).toBe(4000)
    }
    const merged = mergeResults(shards.map((s) => s.result))
    const pick = (c: typeof merged.counts) => ({planned: c.planned, sent: c.sent, expected: c.expected, received: c.received, lost: c.lost, duplicated: c.duplicated, dropped: c.dropped})
    expect(pick(merged.counts)).toEqual(pick(single.result.counts))
    expect(single.result.counts.received).toBe(8000)
    for (const d of ['latency', 'uncorrected', 'connect'] as const) {
      expect(merged.histograms[d]?.summary.count, d).toBe(single.result.histograms[d]?.summary.count)
    }
    const sums = (rows: typeof merged.timeline) => [rows.reduce((s, r) => s + r.sentPerSec, 0), rows.reduce((s, r) => s + (r.receivedPerSec ?? 0), 0)]
    expect(sums(merged.timeline)).toEqual([merged.counts.sent, merged.counts.received])
  }, 90_000)

  it('a shard does not compare the broker count of every shard with its own sends; QoS 2 is not compared at all', async () => {
    const sharded = await runBench(benchRequest(broker.url, {rate: '1000/s', durationMs: 1000}, {shard: {index: 0, count: 2}, brokerCount: true}))
    expect(sharded.result.brokerCount?.disagreementPct ?? null).toBeNull()
    const logs: string[] = []
    const qos2 = await runBench(benchRequest(broker.url, {rate: '500/s', durationMs: 1000}, {qos: 2, brokerCount: true, onLog: (l) => logs.push(l)}))
    expect(qos2.result.brokerCount).toBeNull()
    expect(logs.some((l) => /no broker cross-check at QoS 2/.test(l))).toBe(true)
  }, 60_000)

  it('Ctrl-C does not wait for the broker count', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 1500)
    const began = performance.now()
    const outcome = await runBench(benchRequest(broker.url, {rate: '1000/s', durationMs: 30_000}, {brokerCount: true, signal: controller.signal}))
    expect(outcome.interrupted).toBe(true)
    expect(outcome.result.brokerCount).toBeNull()
    // The $SYS wait was up to 11 s on top of the run.
    expect(performance.now() - began).toBeLessThan(1500 + loadAwareBound(4000))
  }, 60_000)
})

describeMosquitto('iotd bench: whose bottleneck', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
  })

  it('QoS 1 with a window of 10 and a broker frozen for 1 s: the broker pushed back, not the client', async () => {
    // Frozen 1 s into the load (the runner logs "clients connected" just before the common start).
    let stall: NodeJS.Timeout | undefined
    const freeze = (line: string): void => {
      if (!/clients connected/.test(line)) return
      stall = setTimeout(() => {
        broker.pause()
        stall = setTimeout(() => broker.resume(), 1000)
      }, 1000)
    }
    const outcome = await runBench(
      benchRequest(broker.url, {rate: '2000/s', durationMs: 4000}, {mode: 'pub', subscribers: 0, qos: 1, inflight: 10, batch: 10, publishers: 2, onLog: freeze}),
    )
    clearTimeout(stall)
    broker.resume()
    const {health, counts} = outcome.result
    expect(counts.late + counts.dropped).toBeGreaterThan(0)
    expect(health.inflightFullPct ?? 0).toBeGreaterThan(5)
    const text = bottleneckText(outcome.result) ?? ''
    // Unless this machine's load really saturated the client (then that is the right verdict).
    if (!/the client, not the broker/.test(text)) expect(text).toMatch(/^the broker pushed back/)
  }, 60_000)
})

describeMosquitto('iotd bench: the broker count before the run', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    // $SYS every 10 s: the retained count a new subscriber gets first can be seconds old.
    broker = await startMosquitto({extraConfig: ['sys_interval 10']})
  })

  it('traffic just before the run is not taken for the run: a stale retained count is not compared', async () => {
    // Other traffic (a run just before this one) after the broker's last $SYS publication.
    const socket = await openRawConnection({host: '127.0.0.1', port: broker.port, clientId: 'it-earlier-run', protocolVersion: 4})
    socket.resume()
    const frames = buildPublishBatch({topic: 'earlier/1', qos: 0, payloadBytes: 64, protocolVersion: 4, publisher: 99}, 1)
    for (let seq = 0; seq < 600; seq++) {
      patchFrame(frames, 0, seq, 0, 0)
      socket.write(Buffer.from(frames.buffer))
    }
    await new Promise<void>((r) => socket.end(() => r()))
    const outcome = await runBench(benchRequest(broker.url, {rate: '1000/s', durationMs: 1000}, {brokerCount: true}))
    const count = outcome.result.brokerCount
    expect(count).not.toBeNull()
    // Before: the 600 earlier messages were counted as this run's, "+60%".
    if (count?.baseline === 'live') expect(Math.abs(count.disagreementPct ?? 100)).toBeLessThanOrEqual(1)
    else expect(count).toMatchObject({baseline: 'retained', disagreementPct: null})
  }, 60_000)
})
