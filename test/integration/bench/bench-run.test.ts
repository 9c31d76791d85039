import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {LoadProfileOptions} from '../../../src/pacing/load-profile.js'
import {buildPublishBatch, patchFrame} from '../../../src/bench/publish-frame.js'
import {openRawConnection} from '../../../src/net/raw-mqtt-connection.js'
import {runBench, type BenchOutcome, type BenchRequest} from '../../../src/bench/run-bench.js'
import {parseThresholds} from '../../../src/metrics/thresholds.js'
import {IotdError} from '../../../src/errors.js'
import {benchRequest} from '../../helpers/bench-request.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'
import {loadAwareBound} from '../../helpers/load-bound.js'
import {freePort} from '../../helpers/ports.js'

/**
 * iotd bench's runner against real brokers: a private mosquitto per suite (OS-assigned port) and the embedded aedes.
 * Runs are a few seconds each; every figure asserted is one the broker or the test's own traffic can confirm.
 */

/** The shared small-run request, with the broker's own count on: most figures here are checked against it. */
function request(brokerUrl: string, load: LoadProfileOptions, over: Partial<BenchRequest> = {}): BenchRequest {
  return benchRequest(brokerUrl, load, {brokerCount: true, ...over})
}

function summaryOf(outcome: BenchOutcome, d: 'latency' | 'uncorrected' | 'ack' | 'connect') {
  const h = outcome.result.histograms[d]
  if (!h) throw new Error(`no ${d} histogram`)
  return h.summary
}

describeMosquitto('iotd bench runner against mosquitto', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
  })

  it('end to end at QoS 0: every planned message sent and received, rate on target, the broker counts the same', async () => {
    const outcome = await runBench(request(broker.url, {rate: '2000/s', durationMs: 3000}, {warmupMs: 500}))
    const {counts, rate, brokerCount} = outcome.result
    expect(outcome.error).toBeUndefined()
    // 2,000/s for the 2.5 s after the warm-up.
    expect(counts.planned).toBe(5000)
    expect(counts.sent).toBe(5000)
    expect(counts.dropped).toBe(0)
    expect(counts.expected).toBe(5000)
    expect(counts.received).toBe(5000)
    expect(counts.lost).toBe(0)
    expect(counts.duplicated).toBe(0)
    expect(Math.abs(rate.achievedPerSec - 2000) / 2000).toBeLessThan(0.01)
    expect(summaryOf(outcome, 'latency').count).toBe(5000)
    expect(summaryOf(outcome, 'uncorrected').count).toBe(5000)
    // The broker saw the warm-up's messages too: 6,000 in all.
    expect(brokerCount).not.toBeNull()
    expect(brokerCount?.received).toBe(6000)
    expect(brokerCount?.client).toBe(6000)
    expect(outcome.result.timeline.length).toBeGreaterThanOrEqual(2)
  }, 30_000)

  it('QoS 1 and QoS 2 over MQTT 5: every message acknowledged, ack latency recorded per message', async () => {
    for (const qos of [1, 2] as const) {
      const outcome = await runBench(request(broker.url, {rate: '1000/s', durationMs: 2000}, {qos, protocolVersion: 5, brokerCount: false}))
      const {counts} = outcome.result
      expect(outcome.error).toBeUndefined()
      expect(counts.sent).toBe(2000)
      expect(counts.acked).toBe(2000)
      expect(counts.received).toBe(2000)
      expect(counts.lost).toBe(0)
      expect(summaryOf(outcome, 'ack').count).toBe(2000)
    }
  }, 30_000)

  it('publish-only saturation stops at --messages with every QoS 1 message acknowledged', async () => {
    const outcome = await runBench(
      request(broker.url, {rate: 'max', inflightPerClient: 256}, {mode: 'pub', qos: 1, subscribers: 0, messages: 20_000, durationMs: 20_000, inflight: 256, brokerCount: false}),
    )
    const {counts, histograms, rate} = outcome.result
    expect(counts.sent).toBe(20_000)
    expect(counts.acked).toBe(20_000)
    expect(counts.received).toBeNull()
    expect(counts.lost).toBeNull()
    expect(histograms.latency).toBeUndefined()
    expect(histograms.ack?.summary.count).toBe(20_000)
    expect(rate.targetPerSec).toBeNull()
  }, 30_000)

  it('thresholds are judged on the run: a failing one is reported with its observed value', async () => {
    const outcome = await runBench(
      request(broker.url, {rate: '500/s', durationMs: 1000}, {thresholds: parseThresholds(['p(99)<0.001ms', 'loss<0.01', 'rate>=1000000/s']), brokerCount: false}),
    )
    const verdicts = outcome.result.thresholds
    expect(verdicts.map((v) => [v.threshold, v.ok])).toEqual([
      ['p(99)<0.001ms', false],
      ['loss<0.01', true],
      ['rate>=1000000/s', false],
    ])
    expect(verdicts[0].observed).toBeGreaterThan(0.001)
    expect(verdicts[2].observed).toBeCloseTo(500, -1)
  }, 30_000)

  it('a rate above what the client can send is counted as dropped, and planned = sent + dropped', async () => {
    // One publisher, at most 1 message in flight at QoS 1: an acknowledgement round trip per message caps the rate.
    const outcome = await runBench(
      request(broker.url, {rate: '200000/s', durationMs: 2000}, {publishers: 1, subscribers: 0, mode: 'pub', qos: 1, inflight: 1, batch: 1, maxLagMs: 100, brokerCount: false}),
    )
    const {counts, rate} = outcome.result
    expect(counts.dropped).toBeGreaterThan(0)
    expect(counts.sent + counts.dropped).toBe(counts.planned)
    expect(rate.achievedPerSec).toBeLessThan(rate.targetPerSec ?? 0)
    expect(outcome.warnings.some((w) => /dropped/.test(w))).toBe(true)
  }, 30_000)

  it('connect mode opens every connection on schedule and measures each', async () => {
    const outcome = await runBench(request(broker.url, {rate: '400/s'}, {mode: 'conn', publishers: 200, subscribers: 0, connSubscribe: 'cmd/#', brokerCount: false}))
    const {counts, rate, histograms} = outcome.result
    expect(counts.sent).toBe(200)
    expect(counts.acked).toBe(200)
    expect(counts.errors).toBe(0)
    expect(histograms.connect?.summary.count).toBe(200)
    // 200 connections at 400/s take about half a second.
    expect(rate.achievedPerSec).toBeGreaterThan(250)
    expect(rate.achievedPerSec).toBeLessThan(500)
  }, 30_000)

  it('subscribe-only counts duplicates, reordering and holes in what another publisher sends', async () => {
    const port = broker.port
    // Sent once the subscriber is measuring: the live view's first snapshot comes a tick after the common start,
    // which the workers were told before it (a message stamped before the start would not be counted).
    let measuring!: () => void
    const started = new Promise<void>((resolve) => (measuring = resolve))
    const sending = (async () => {
      await started
      const socket = await openRawConnection({host: '127.0.0.1', port, clientId: 'it-crafted-publisher', protocolVersion: 4})
      socket.resume()
      const frames = buildPublishBatch({topic: 'crafted/7', qos: 0, payloadBytes: 64, protocolVersion: 4, publisher: 7}, 1)
      // 0 1 2 2 4 3 5 7: one duplicate (2), one out of order (3 after 4), one hole (6 never sent).
      for (const seq of [0, 1, 2, 2, 4, 3, 5, 7]) {
        const now = Date.now() * 1000
        patchFrame(frames, 0, seq, now, now)
        socket.write(Buffer.from(frames.buffer))
      }
      // A clean close: the FIN goes after every frame, and the broker reads them all before it.
      await new Promise<void>((resolve) => socket.end(resolve))
    })()
    const outcome = await runBench(
      request(broker.url, {rate: 'max'}, {
        mode: 'sub',
        publishers: 0,
        subscribers: 1,
        topic: 'crafted/#',
        durationMs: 3500,
        brokerCount: false,
        onSnapshot: () => measuring(),
      }),
    )
    await sending
    const {counts} = outcome.result
    expect(counts.received).toBe(8)
    expect(counts.duplicated).toBe(1)
    expect(counts.reordered).toBe(1)
    expect(counts.lost).toBe(1)
    expect(summaryOf(outcome, 'latency').count).toBe(7)
  }, 30_000)

  it('a broker that is down ends the run with a connection error after retries', async () => {
    const port = await freePort()
    const failure = await runBench(request(`mqtt://127.0.0.1:${port}`, {rate: '100/s', durationMs: 1000})).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(IotdError)
    expect((failure as IotdError).exitCode).toBe(1)
    expect((failure as IotdError).message).toMatch(/gave up connecting to mqtt:\/\/127\.0\.0\.1:\d+ after 5 attempts/)
  }, 30_000)
})

describeMosquitto('iotd bench: honest latency when the broker stalls', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
  })
  afterAll(() => broker.resume())

  it('a 1 s SIGSTOP in a 10 s run at 2,000 msg/s shows in the corrected p99, with nothing reported lost', async () => {
    const stall = setTimeout(() => {
      broker.pause()
      setTimeout(() => broker.resume(), 1000)
    }, 4000)
    const outcome = await runBench(request(broker.url, {rate: '2000/s', durationMs: 10_000}, {brokerCount: false}))
    clearTimeout(stall)
    const corrected = summaryOf(outcome, 'latency')
    const uncorrected = summaryOf(outcome, 'uncorrected')
    expect(outcome.result.counts.sent).toBe(20_000)
    expect(outcome.result.counts.lost).toBe(0)
    expect(outcome.result.counts.received).toBe(20_000)
    // About 2,000 messages (10%) waited up to a second: the top 1% waited most of it.
    expect(corrected.p99).toBeGreaterThan(300)
    expect(corrected.max).toBeGreaterThan(800)
    expect(corrected.p50).toBeLessThan(loadAwareBound(100))
    expect(uncorrected.count).toBe(corrected.count)
    expect(uncorrected.p99).toBeLessThanOrEqual(corrected.p99 + 1)
  }, 40_000)
})

describeMosquitto('iotd bench: loss under QoS 0 overload, cross-checked with the broker', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    // A short per-client queue: mosquitto drops QoS 0 deliveries to a subscriber that falls behind.
    broker = await startMosquitto({extraConfig: ['max_queued_messages 10']})
  })

  it('counts exactly what the subscriber never got', async () => {
    const sentBefore = Number(await broker.readSys('broker/publish/messages/sent'))
    // Four subscribers each receiving everything, in 16 KiB messages: the broker would have to write four times the
    // bytes it reads, far more than loopback sockets drain even when this process is starved of CPU (which slows the
    // senders too), so its short per-subscriber queues overflow and QoS 0 deliveries are dropped.
    const outcome = await runBench(request(broker.url, {rate: '100000/s', durationMs: 2000}, {publishers: 8, subscribers: 4, payloadBytes: 16_384}))
    const {counts, brokerCount} = outcome.result
    // $SYS is republished every second: poll until it has caught up with the deliveries.
    const sentSince = async () => Number(await broker.readSys('broker/publish/messages/sent')) - sentBefore
    expect(counts.lost).toBeGreaterThan(0)
    expect(counts.lost).toBe((counts.expected ?? 0) - (counts.received ?? 0))
    // The broker received everything the client sent, so `expected` is exact; and the subscribers cannot have
    // received more than the broker says it sent them (mosquitto counts a delivery when it queues it, so messages
    // still queued when the subscribers disconnect count as sent and not received).
    expect(brokerCount?.received).toBe(counts.sent)
    await expect.poll(sentSince, {timeout: 15_000, interval: 500}).toBeGreaterThanOrEqual(counts.received ?? 0)
  }, 40_000)
})

describe('iotd bench runner on the embedded broker', () => {
  it('with no broker named and nothing listening, starts aedes and benchmarks it', async () => {
    const port = await freePort()
    const logs: string[] = []
    const outcome = await runBench({
      ...request('', {rate: '1000/s', durationMs: 1500}),
      brokerUrl: undefined,
      defaultBrokerUrl: `mqtt://127.0.0.1:${port}`,
      onLog: (m) => logs.push(m),
    })
    expect(logs.some((l) => /embedded broker/.test(l))).toBe(true)
    expect(outcome.result.counts.sent).toBe(1500)
    expect(outcome.result.counts.received).toBe(1500)
    // aedes publishes no mosquitto counter: no cross-check, and no claim.
    expect(outcome.result.brokerCount).toBeNull()
  }, 30_000)
})
