/**
 * Replay timing against a real mosquitto: per-message scheduling error, no cumulative drift (checked by an
 * independent subscriber's arrival times, not only by the replay's own account), --speed, --rate, and the
 * record -> replay -> record round trip in process.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'csv-parse/sync'
import type {MqttClient} from 'mqtt'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/mqtt-connection.js'
import {captureHeaderLine, captureRow, csvLine} from '../../../src/capture/index.js'
import {MqttSource, mqttSourceOptions} from '../../../src/pipeline/sources/mqtt.js'
import {toolContext} from '../../../src/tools/context.js'
import {runRecord} from '../../../src/tools/record.js'
import {runReplay} from '../../../src/tools/replay.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'
import {seededRandom} from '../../helpers/seeded-random.js'
import {loadAwareBound} from '../../helpers/load-bound.js'

let broker: Mosquitto

/**
 * The 2 ms / 5 ms figures are for a machine with a core to spare. On a shared box whose load average is above its
 * core count, the OS alone delays a runnable process by tens of ms, so the bound widens (and says so) rather than
 * failing on what the machine did; perf/replay-timing.ts measures the real figure on a quiet machine.
 */
const bound = loadAwareBound
const dir = mkdtempSync(join(tmpdir(), 'iotd-replay-'))

/** A capture with irregular gaps: mostly 0–20 ms, some bursts of equal timestamps, a few 100–300 ms pauses. */
function irregularCapture(file: string, n: number, topic: string, seed = 7): number[] {
  const random = seededRandom(seed)
  let ts = 1_767_225_600_000
  const offsets: number[] = []
  let text = captureHeaderLine(false)
  for (let i = 0; i < n; i++) {
    const r = random()
    ts += r < 0.15 ? 0 : r < 0.97 ? random() * 20 : 100 + random() * 200
    offsets.push(ts - 1_767_225_600_000)
    text += csvLine(captureRow({tsMs: ts, topic, qos: 0, retain: false, payload: Buffer.from(String(i))}, false))
  }
  writeFileSync(file, text)
  return offsets
}

/** Subscribes and records arrival times (ms, performance clock) of payload index -> time. */
async function listen(topic: string) {
  const source = new MqttSource('listen', mqttSourceOptions.parse({url: broker.url, topics: [topic], payload: 'raw', queueSize: 100_000}))
  await source.connect()
  const controller = new AbortController()
  const arrivals: number[] = []
  const loop = (async () => {
    for await (const batch of source.readBatches(toolContext(controller.signal))) {
      for (const d of batch) arrivals[Number(d.record.payload!.toString())] = d.record.ts
    }
  })()
  return {
    arrivals,
    async stop(expected: number) {
      await expect.poll(() => arrivals.filter((a) => a !== undefined).length, {timeout: 10_000, interval: 50}).toBe(expected)
      controller.abort()
      await loop
      await source.close()
    },
  }
}

describeMosquitto('replay timing against mosquitto', () => {
  beforeAll(async () => {
    // Nagle off on the broker's side too: with mosquitto's default, a delivery written while the previous one is
    // unacknowledged waits for the subscriber's delayed ACK (up to 40 ms), which no replay can make up for.
    broker = await startMosquitto({extraConfig: ['set_tcp_nodelay true']})
  })
  afterAll(async () => {})

  it('1×: scheduling error p99 ≤ 20 ms with the subscriber in the same process (target 2 ms, measured by perf/tail-replay.ts), and the subscriber sees no drift from the recorded offsets', async () => {
    const file = join(dir, 'irregular.csv')
    const offsets = irregularCapture(file, 500, 'tm/a')
    const l = await listen('tm/#')
    const summary = await runReplay({file, broker: {url: broker.url}})
    await l.stop(500)
    expect(summary.published).toBe(500)
    expect(summary.timing!.count).toBe(500)
    // Issue #5 asks for 2 ms. This run shares the process with its subscriber and the machine with another test
    // file: 2.5–8 ms p99 seen here, more when the other file is busy. The CLI alone measures 2.8–3.9 ms on this VM (perf/tail-replay.ts; a write() to
    // a loopback socket blocks 1–1.5 ms at p99 here, and a message due meanwhile waits for it).
    expect(summary.timing!.p99).toBeLessThanOrEqual(bound(20))
    // Independent check: arrival offsets against recorded offsets. Drift would grow along the run.
    // Against the median offset, so one late first message does not shift every other error.
    const raw = l.arrivals.map((a, i) => a - offsets[i])
    const mid = [...raw].sort((x, y) => x - y)[Math.floor(raw.length / 2)]
    const err = raw.map((e) => e - mid)
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length
    // No drift: the last 50 arrive as close to their offsets as the first 50.
    expect(Math.abs(mean(err.slice(-50)) - mean(err.slice(0, 50)))).toBeLessThan(bound(5))
    // Seen by the subscriber, which shares this thread with the replay (it spins out the last ms before a
    // message): replay + broker + delivery, 3–8 ms p99 measured alone. (No check on one message alone: a single
    // arrival is as late as the machine was at that instant, which says nothing about drift.)
    const sorted = err.map(Math.abs).sort((a, b) => a - b)
    expect(sorted[Math.floor(sorted.length * 0.99)]).toBeLessThan(bound(20))
  })

  it('--speed 10 compresses the timeline tenfold', async () => {
    const file = join(dir, 'speed.csv')
    const offsets = irregularCapture(file, 300, 'sp/a', 11)
    const span = offsets.at(-1)! - offsets[0]
    const l = await listen('sp/#')
    const summary = await runReplay({file, broker: {url: broker.url}, speed: 10})
    await l.stop(300)
    const seen = l.arrivals.at(-1)! - l.arrivals[0]
    expect(seen).toBeGreaterThan(span / 10 - bound(20))
    expect(seen).toBeLessThan(span / 10 + bound(20))
    expect(summary.timing!.p99).toBeLessThanOrEqual(bound(20))
  })

  it('--rate paces by the open-loop scheduler, ignoring the recorded timing', async () => {
    const file = join(dir, 'rate.csv')
    irregularCapture(file, 400, 'rt/a', 3)
    const summary = await runReplay({file, broker: {url: broker.url}, rate: 1000})
    expect(summary.published).toBe(400)
    expect(summary.durationMs).toBeGreaterThan(380)
    expect(summary.durationMs).toBeLessThan(700)
  })

  it('--start/--end (offsets), --topic-map, --topic-prefix, QoS/retain overrides and --loop 2', async () => {
    const file = join(dir, 'ranges.csv')
    let text = captureHeaderLine(false)
    for (let i = 0; i < 10; i++) text += csvLine(captureRow({tsMs: 1_767_225_600_000 + i * 1000, topic: `plant/l1/d${i}`, qos: 0, retain: false, payload: Buffer.from(String(i))}, false))
    writeFileSync(file, text)
    const source = new MqttSource('l', mqttSourceOptions.parse({url: broker.url, topics: ['copy/#'], qos: 1, payload: 'raw'}))
    await source.connect()
    const summary = await runReplay({file, broker: {url: broker.url}, maxSpeed: true, start: {offsetMs: 3000}, end: {offsetMs: 6000}, topicMap: [{from: 'plant/l1', to: 'line-one'}], topicPrefix: 'copy/', qos: 1, retain: false, loops: 2})
    expect(summary).toMatchObject({rows: 20, published: 6, skipped: 14, skippedReasons: {'before --start': 6, 'at or after --end': 8}, loops: 2})
    const controller = new AbortController()
    const got: Array<[string, string, number | undefined]> = []
    for await (const batch of source.readBatches(toolContext(controller.signal))) {
      for (const d of batch) got.push([d.record.topic!, d.record.payload!.toString(), d.record.meta.qos])
      if (got.length >= 6) break
    }
    await source.close()
    expect(got).toEqual([3, 4, 5, 3, 4, 5].map((i) => [`copy/line-one/d${i}`, String(i), 1]))
  })

  it('record -> replay at 1× -> record again: same (topic, payload, qos, retain) sequence, relative timing within 20 ms p99', async () => {
    const first = join(dir, 'first.csv')
    const second = join(dir, 'second.csv')
    // Traffic from three publishers with QoS 0/1 and binary payloads, recorded at QoS 1 so QoS is kept. (QoS 2 is
    // left out: MQTT.js hands a QoS 2 message over at its PUBREL, so a recorder can see it after later QoS 0/1
    // messages; docs/capture-format.md says so.)
    let subscribed!: () => void
    const firstReady = new Promise<void>((r) => (subscribed = r))
    const recording = runRecord({source: {url: broker.url, topics: ['rtrip/#'], qos: 1}, out: first, count: 300, onReady: () => subscribed()})
    await firstReady
    const pubs: MqttClient[] = await Promise.all([0, 1, 2].map((i) => connectOnce({url: broker.url, clientId: `p${i}`})))
    const random = seededRandom(5)
    for (let i = 0; i < 300; i++) {
      const k = i % 3
      const payload = k === 2 ? Buffer.from([i & 255, 0, 255, 10]) : Buffer.from(JSON.stringify({i, v: random()}))
      pubs[k].publish(`rtrip/dev${k}`, payload, {qos: (k % 2) as 0 | 1})
      // Irregular gaps between publishes are the traffic being recorded, not a wait for anything.
      await new Promise((r) => setTimeout(r, random() * 8))
    }
    await recording
    for (const p of pubs) p.end(true)
    let resubscribed!: () => void
    const secondReady = new Promise<void>((r) => (resubscribed = r))
    const replayed = runRecord({source: {url: broker.url, topics: ['rtrip/#'], qos: 1}, out: second, count: 300, onReady: () => resubscribed()})
    await secondReady
    await runReplay({file: first, broker: {url: broker.url}})
    await replayed
    const read = (f: string) => (parse(readFileSync(f)) as string[][]).slice(1)
    const a = read(first)
    const b = read(second)
    const firstDiff = a.findIndex((r, i) => JSON.stringify(r.slice(1)) !== JSON.stringify(b[i]?.slice(1)))
    expect(firstDiff, `first difference at ${firstDiff}: ${JSON.stringify(a[firstDiff])} vs ${JSON.stringify(b[firstDiff])}`).toBe(-1)
    // Relative timing: each row's time in the second recording minus the first's, against the median of those
    // differences (anchoring on the first row alone would let one late first message shift every other row).
    const shift = a.map((r, i) => (Number(b[i][0]) - Number(r[0])) / 1000)
    const mid = [...shift].sort((x, y) => x - y)[Math.floor(shift.length / 2)]
    const diffs = shift.map((d) => Math.abs(d - mid)).sort((x, y) => x - y)
    // Recorder and replay share this thread here, so each one's work delays the other's timing: ~5 ms p99 measured
    // alone, more beside another test file. 20 ms still catches a Nagle stall (40 ms), the regression this is for.
    expect(diffs[Math.floor(diffs.length * 0.99)]).toBeLessThanOrEqual(bound(20))
  })
})
