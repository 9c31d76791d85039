import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {MqttClient} from 'mqtt'
import {connectOnce} from '../../../src/net/index.js'
import {startEmbeddedBroker, type EmbeddedBroker} from '../../../src/net/embedded-broker.js'
import {loadScenario, type Scenario} from '../../../src/sim/scenario/index.js'
import {runSimulation} from '../../../src/sim/run-simulation.js'
import type {SimSnapshot} from '../../../src/sim/types.js'
import {loadAwareBound} from '../../helpers/load-bound.js'

/** The fleet engine end to end against the embedded broker (aedes in this process), observed by a subscriber. */

interface Seen {
  topic: string
  payload: string
  retain: boolean
  qos: number
}

async function subscribeAll(url: string, filter = '#'): Promise<{client: MqttClient; seen: Seen[]}> {
  const client = await connectOnce({url, clientId: `observer-${Math.random().toString(36).slice(2)}`})
  const seen: Seen[] = []
  client.on('message', (topic, payload, packet) => seen.push({topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos}))
  await client.subscribeAsync(filter, {qos: 1})
  return {client, seen}
}

const scenarioText = (url: string) => `
version: 1
name: two-fleets
seed: 11
broker: {url: "${url}"}
connect: {over: 200ms}
fleets:
  - name: press
    count: 5
    topic: "plant/{line}/{deviceId}/telemetry"
    vars: {line: {cycle: [l1, l2]}}
    every: 200ms
    qos: 1
    birth: {topic: "plant/{deviceId}/status", payload: '{"online":true}', qos: 1, retain: true}
    lwt: {topic: "plant/{deviceId}/status", payload: '{"online":false}', qos: 1, retain: true}
    fields:
      seq: {kind: counter, start: 0, step: 1}
      temp: {kind: walk, mean: 60, theta: 0.1, sigma: 0.5, min: 20, max: 100, resolution: 0.1}
  - name: meter
    count: 3
    topic: "plant/meters/{deviceId}"
    every: 250ms
    fields:
      seq: {kind: counter, start: 0, step: 1}
      kwh: {kind: drift, start: 100, perHour: 36}
`

describe('iotd sim fleet engine on the embedded broker', () => {
  let broker: EmbeddedBroker
  beforeAll(async () => {
    broker = await startEmbeddedBroker({port: 0})
  })
  afterAll(async () => {
    await broker.close()
  })

  it('publishes every device on its own topic at its interval, with retained birth messages', async () => {
    const {client, seen} = await subscribeAll(broker.url)
    const scenario = loadScenario('inline.yaml', {text: scenarioText(broker.url)})
    const summary = await runSimulation({scenario, scenarioName: 'two-fleets', durationMs: 3000, workers: 1})
    const isTelemetry = (m: Seen) => m.topic.endsWith('/telemetry') || m.topic.startsWith('plant/meters/')
    // Everything the fleet says it published arrives (QoS 1 and loopback QoS 0 lose nothing here).
    await expect.poll(() => seen.filter(isTelemetry).length, {timeout: 5000}).toBe(summary.totals.published)
    await client.endAsync()

    expect(summary.devices).toBe(8)
    expect(summary.seed).toBe(11)
    expect(summary.interrupted).toBe(false)
    const telemetry = seen.filter(isTelemetry)
    // 3 s at 200 ms is at most 15 messages per press device (12 per meter at 250 ms); worker start-up and the
    // connect ramp take some of the 3 s, more on a loaded machine.
    const perDevice = new Map<string, number>()
    for (const m of telemetry) perDevice.set(m.topic, (perDevice.get(m.topic) ?? 0) + 1)
    expect(perDevice.size).toBe(8)
    for (const [topic, n] of perDevice) {
      const most = topic.startsWith('plant/meters/') ? 12 : 15
      expect(n, topic).toBeGreaterThanOrEqual(most / 2)
      expect(n, topic).toBeLessThanOrEqual(most + 1)
    }
    expect([...perDevice.keys()]).toContain('plant/l1/press-0000/telemetry')
    expect([...perDevice.keys()]).toContain('plant/l2/press-0001/telemetry')
    // Each device's counter runs 0,1,2,… with no gap: nothing lost or reordered.
    const seqs = telemetry.filter((m) => m.topic === 'plant/l1/press-0000/telemetry').map((m) => JSON.parse(m.payload).seq)
    expect(seqs).toEqual(seqs.map((_, i) => i))
    const births = seen.filter((m) => m.topic.endsWith('/status') && m.payload === '{"online":true}')
    expect(births.length).toBe(5)
    expect(summary.fleets.find((f) => f.fleet === 'press')?.acked).toBe(summary.fleets.find((f) => f.fleet === 'press')?.published)
    expect(summary.connectAllMs).toBeGreaterThan(0)
    expect(summary.publishLag.count).toBe(summary.totals.published)
    expect(summary.publishLag.p99).toBeLessThan(loadAwareBound(50))
  })

  /** Runs on one worker until `done` holds for a live snapshot (polled once a second), or for at most 60 s. */
  async function runUntil(scenario: Scenario, name: string, done: (s: SimSnapshot) => boolean) {
    const stop = new AbortController()
    return runSimulation({scenario, scenarioName: name, durationMs: 60_000, workers: 1, signal: stop.signal, onSnapshot: (s) => done(s) && stop.abort()})
  }

  it('a storm drops connections abruptly (LWTs fire) and devices reconnect with backoff', async () => {
    const {client, seen} = await subscribeAll(broker.url, 'storm/+/status')
    // The stage clock starts once the worker is up; connecting takes longer on a busy machine (the broker shares
    // this process), so the wait before the storm grows with the load, and the run ends once every victim is back.
    const settle = loadAwareBound(1000)
    const scenario = loadScenario('storm.yaml', {
      text: `
version: 1
seed: 3
broker: {url: "${broker.url}"}
reconnect: {initial: 200ms, max: 1s, jitter: full}
stages:
  - ramp: {to: 100%, over: 0s}
  - steady: {for: ${settle}ms}
  - storm: {drop: 50%}
fleets:
  - name: dev
    count: 10
    topic: "storm/{deviceId}/data"
    every: 500ms
    lwt: {topic: "storm/{deviceId}/status", payload: "offline", qos: 1, retain: false}
    birth: {topic: "storm/{deviceId}/status", payload: "online", qos: 1, retain: false}
    fields: {v: 1}
`,
    })
    const stages: string[] = []
    const summary = await runUntil(scenario, 'storm', (s) => {
      if (stages.at(-1) !== s.stage) stages.push(s.stage)
      return s.totals.reconnects >= 5
    })
    // The plan ends with the storm: while its victims reconnect the line names it (it said "steady", hiding the storm).
    expect(stages.at(-1)).toBe('after storm 50%')
    // LWTs and births may still be on their way to the observer when the run ends.
    await expect.poll(() => seen.filter((m) => m.payload === 'online').length, {timeout: 5000}).toBeGreaterThanOrEqual(15)
    await client.endAsync()
    const offline = seen.filter((m) => m.payload === 'offline')
    expect(offline.length).toBe(5)
    expect(summary.totals.disconnects).toBe(5)
    expect(summary.totals.reconnects).toBe(5)
    // Each storm victim said online twice: at the first connect and after its reconnect.
    expect(seen.filter((m) => m.payload === 'online').length).toBe(15)
  }, 120_000)

  it('--workers past the devices or the cores is said, not taken silently', async () => {
    // A user asked for 64 workers for 10 devices and saw only "10 workers" in the summary, with 1.4 s of event-loop lag.
    const cores = availableParallelism()
    const devices = 2 * cores + 2
    const scenario = loadScenario('inline.yaml', {text: `version: 1\nseed: 5\nbroker: {url: "${broker.url}"}\nfleets:\n  - name: w\n    count: ${devices}\n    topic: "workers/{deviceId}"\n    every: 1s\n    fields: {v: 1}\n`})
    const logs: string[] = []
    const summary = await runSimulation({scenario, scenarioName: 'workers', durationMs: 1000, workers: 64, onLog: (m) => logs.push(m)})
    expect(summary.workers).toBe(devices)
    expect(logs.join('\n')).toContain(`--workers 64: ${devices} workers, one per device`)
    expect(summary.warnings.join('\n')).toContain(`--workers 64: ${devices} workers on ${cores} cores take turns on them`)
  }, 60_000)

  it('a message limit is exact across workers and ends the run early', async () => {
    const scenario = loadScenario('limit.yaml', {
      text: `
version: 1
seed: 4
broker: {url: "${broker.url}"}
connect: {rate: 10000/s}
fleets:
  - name: s
    count: 7
    topic: "limit/{deviceId}"
    every: 100ms
    fields: {v: {kind: counter, start: 0, step: 1}}
`,
    })
    const started = Date.now()
    const summary = await runSimulation({scenario, scenarioName: 'limit', limit: 25, workers: 2, durationMs: 20_000})
    expect(summary.workers).toBe(2)
    expect(summary.totals.published).toBe(25)
    expect(Date.now() - started).toBeLessThan(loadAwareBound(10_000))
  })

  it('QoS 1 through a storm: messages in flight when sockets die are sent again, so every published message is acked', async () => {
    // Every device must be back before the second storm, and acked before the end: longer on a busy machine.
    const settle = loadAwareBound(1000)
    const scenario = loadScenario('storm-qos1.yaml', {
      text: `
version: 1
seed: 8
broker: {url: "${broker.url}"}
reconnect: {initial: 100ms, max: 500ms, jitter: full}
stages:
  - ramp: {to: 100%, over: 100ms}
  - steady: {for: ${settle}ms}
  - storm: {drop: 100%}
  - steady: {for: ${settle}ms}
  - storm: {drop: 100%}
fleets:
  - name: q
    count: 10
    topic: "q1/{deviceId}"
    every: 20ms
    qos: 1
    inflight: 4
    fields: {v: {kind: counter, start: 0, step: 1}}
`,
    })
    const summary = await runUntil(scenario, 'storm-qos1', (s) => s.totals.reconnects >= 20)
    expect(summary.totals.disconnects).toBe(20)
    expect(summary.totals.reconnects).toBe(20)
    expect(summary.totals.published).toBeGreaterThan(500)
    // Nothing vanishes: every message handed to a client was acked, or is counted as an error.
    expect(summary.totals.acked + summary.totals.errors).toBe(summary.totals.published)
  }, 120_000)

  it('ramping down and up again is neither a disconnect nor a reconnect', async () => {
    const scenario = loadScenario('ramps.yaml', {
      text: `
version: 1
seed: 2
broker: {url: "${broker.url}"}
stages:
  - ramp: {to: 100%, over: 100ms}
  - steady: {for: 500ms}
  - ramp: {to: 50%, over: 200ms}
  - steady: {for: 500ms}
  - ramp: {to: 100%, over: 200ms}
fleets:
  - name: r
    count: 10
    topic: "ramp/{deviceId}"
    every: 100ms
    fields: {v: 1}
`,
    })
    const summary = await runSimulation({scenario, scenarioName: 'ramps', durationMs: 2500, workers: 1})
    expect(summary.totals.disconnects).toBe(0)
    expect(summary.totals.reconnects).toBe(0)
    expect(summary.fleets[0].connected).toBe(10)
  })

  it("the summary's client health is the run's: a worker blocked for its first two seconds shows, though the last second was calm", async () => {
    // The summary took the last second's CPU and event-loop lag: a worker behind for most of a run passed as healthy,
    // and a run whose only slow second was the last was called client-bound.
    const dir = mkdtempSync(join(tmpdir(), 'iotd-health-'))
    writeFileSync(join(dir, 'stall.js'), 'const until = Date.now() + 2000\nmodule.exports = {onTick() { if (Date.now() < until) { const end = Date.now() + 80; while (Date.now() < end); } }}\n')
    const scenario = loadScenario(join(dir, 'stall.yaml'), {
      text: `version: 1\nseed: 4\nbroker: {url: "${broker.url}"}\nfleets:\n  - name: stall\n    count: 1\n    topic: "stall/{deviceId}"\n    every: 100ms\n    behavior: ./stall.js\n    fields: {v: 1}\n`,
    })
    const snapshots: SimSnapshot[] = []
    const summary = await runSimulation({scenario, scenarioName: 'stall', durationMs: 5000, workers: 1, onSnapshot: (s) => snapshots.push(s)})
    rmSync(dir, {recursive: true, force: true})
    // Blocked 80 ms in every 100 for two seconds of five: the run's p99 is that block.
    expect(summary.health.eventLoopLagP99Ms).toBeGreaterThanOrEqual(60)
    expect(summary.health.eventLoopLagP99Ms).toBeGreaterThan(snapshots.at(-1)!.health.eventLoopLagP99Ms)
  })
})
