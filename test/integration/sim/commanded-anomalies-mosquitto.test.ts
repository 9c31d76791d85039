import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {MqttClient} from 'mqtt'
import {afterAll, expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/index.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {runSimulation, type SimulationSummary} from '../../../src/sim/run-simulation.js'
import type {AnomalyLabel} from '../../../src/sim/types.js'
import {loadAwareBound} from '../../helpers/load-bound.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

/**
 * Issue #14 item 1 (commands that start and stop an anomaly) and item 2 (a command's mode against a schedule),
 * against a real mosquitto on an OS-assigned port. The test client (MQTT.js, MQTT 5) sends the commands, reads the
 * replies on its response topic and the telemetry; the labels file is read as a detector would.
 */

const dir = mkdtempSync(join(tmpdir(), 'iotd-cmd-anomaly-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** The test client: MQTT 5, connected (a refused or unreachable broker fails the test with the reason). */
const client = (url: string, id: string): Promise<MqttClient> => connectOnce({url, clientId: id, protocol: '5'})

function readLabels(path: string): AnomalyLabel[] {
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AnomalyLabel)
}

const id = (k: number) => `press-${String(k).padStart(2, '0')}`

describeMosquitto('commands that start and stop anomalies, and a command\'s mode against a schedule, with mosquitto', () => {
  it('a command starts an anomaly on 5 of 20 devices (telemetry out of range, labelled), a stop ends it early, an unknown name fails', {timeout: 120_000}, async () => {
    const broker = await startMosquitto()
    const labelsFile = join(dir, 'labels.jsonl')
    const DEVICES = 20
    const EVERY_MS = 200
    const scenario = loadScenario('inline.yaml', {
      text: `
version: 1
seed: 14
broker: {url: "${broker.url}", protocol: 5}
fleets:
  - name: press
    count: ${DEVICES}
    id: "press-{index:02}"
    topic: "plant/{deviceId}/t"
    every: ${EVERY_MS}ms
    fields:
      ts: {kind: timestamp}
      temp: {kind: gaussian, mean: 60, stddev: 1, min: 0, max: 100, resolution: 0.1}
    anomalies:
      - {name: overheat, field: temp, kind: out-of-range, magnitude: 20, duration: 60s}
    commands:
      - {name: heat, topic: "plant/{deviceId}/cmd", when: {"$.action": "start"}, anomaly: {start: "$.anomaly"}, reply: true}
      - {name: cool, topic: "plant/{deviceId}/cmd", when: {"$.action": "stop"}, anomaly: {stop: "$.anomaly"}, reply: true}
`,
    })
    const test = await client(broker.url, 'anomaly-commander')
    const telemetry = new Map<string, Array<{ts: number; temp: number}>>()
    const replies: Array<{status: string; command: string; deviceId: string; correlation?: string}> = []
    test.on('message', (topic, payload, packet) => {
      if (topic === 'test/replies') {
        replies.push({...JSON.parse(payload.toString()), correlation: packet.properties?.correlationData?.toString()})
        return
      }
      const device = topic.split('/')[1]
      const list = telemetry.get(device) ?? []
      list.push(JSON.parse(payload.toString()))
      telemetry.set(device, list)
    })
    await test.subscribeAsync({'plant/+/t': {qos: 0}, 'test/replies': {qos: 1}})
    const command = (device: string, body: object) =>
      test.publish(`plant/${device}/cmd`, JSON.stringify(body), {qos: 1, properties: {responseTopic: 'test/replies', correlationData: Buffer.from(`${device}:${JSON.stringify(body)}`)}})
    const hot = (device: string) => (telemetry.get(device) ?? []).filter((m) => m.temp === 120)
    const last = (device: string) => telemetry.get(device)?.at(-1)?.temp

    const stop = new AbortController()
    const run = runSimulation({scenario, scenarioName: 'cmd-anomaly', signal: stop.signal, durationMs: 110_000, labelsFile})
    let summary: SimulationSummary | undefined
    const started = [0, 1, 2, 3, 4].map(id)
    const stopped = [id(0), id(1)]
    let stopSentAt = 0
    try {
      // Every device published, so its command subscription (sent before its first PUBLISH) is in place.
      await expect.poll(() => telemetry.size, {timeout: loadAwareBound(20_000), interval: 50}).toBe(DEVICES)
      for (const device of started) command(device, {action: 'start', anomaly: 'overheat'})
      // A name the fleet does not declare: the command fails and says so.
      command(id(10), {action: 'start', anomaly: 'overhaet'})
      await expect.poll(() => replies.length, {timeout: loadAwareBound(10_000), interval: 50}).toBe(6)
      expect(replies.filter((r) => r.status === 'ok').map((r) => r.deviceId).sort()).toEqual(started)
      expect(replies.find((r) => r.deviceId === id(10))).toMatchObject({status: 'failed', command: 'heat', correlation: `${id(10)}:{"action":"start","anomaly":"overhaet"}`})

      // Later telemetry of the five shows the anomaly: the generator's max (100) + 20.
      await expect.poll(() => started.filter((d) => last(d) === 120), {timeout: loadAwareBound(5000), interval: 50}).toEqual(started)
      // Everyone else stays in range (the gaussian around 60 never reaches 100).
      const others = [...telemetry.keys()].filter((d) => !started.includes(d))
      expect(others.flatMap((d) => telemetry.get(d) ?? []).filter((m) => m.temp >= 100)).toEqual([])

      // A stop ends it early on two of them; the other three go on.
      await expect.poll(() => Math.min(...started.map((d) => hot(d).length)), {timeout: loadAwareBound(5000), interval: 50}).toBeGreaterThanOrEqual(5)
      stopSentAt = Date.now()
      for (const device of stopped) command(device, {action: 'stop', anomaly: 'overheat'})
      await expect.poll(() => stopped.filter((d) => (last(d) ?? 120) < 100), {timeout: loadAwareBound(5000), interval: 50}).toEqual(stopped)
      // The stopped ones are labelled as soon as their end is known (their next message), before the run ends.
      await expect.poll(() => readLabels(labelsFile).map((l) => l.deviceId).sort(), {timeout: loadAwareBound(5000), interval: 100}).toEqual(stopped)
      // Ten more messages: the stopped two stay in range, the three others stay out of it.
      const seen = telemetry.get(id(0))?.length ?? 0
      await expect.poll(() => telemetry.get(id(0))?.length ?? 0, {timeout: loadAwareBound(5000), interval: 50}).toBeGreaterThanOrEqual(seen + 10)
      expect(stopped.map((d) => last(d)! < 100)).toEqual([true, true])
      expect(started.slice(2).map((d) => last(d))).toEqual([120, 120, 120])
    } finally {
      stop.abort()
      summary = await run
      await test.endAsync()
      await broker.stop()
    }

    // The labels file: one label per started device (the three still running were labelled when the run ended).
    const labels = readLabels(labelsFile)
    expect(labels.map((l) => l.deviceId).sort()).toEqual(started)
    for (const label of labels) {
      expect(label).toMatchObject({field: 'temp', kind: 'out-of-range', name: 'overheat', source: 'command', command: 'heat'})
      const messages = telemetry.get(label.deviceId) ?? []
      const out = messages.filter((m) => m.temp === 120)
      // The label starts at the first message that shows it, and every message inside [start, end) shows it.
      expect(label.start).toBe(out[0].ts)
      expect(messages.filter((m) => m.ts >= label.start && m.ts < label.end).every((m) => m.temp === 120)).toBe(true)
      if (stopped.includes(label.deviceId)) {
        // Ended by the stop: well before its 60 s, after the last message that showed it, at the time the stop was
        // applied (no earlier than it was sent), and the next message is back in range.
        expect(label.end - label.start).toBeLessThan(60_000)
        expect(label.end).toBeGreaterThan(out.at(-1)!.ts)
        expect(label.end).toBeGreaterThanOrEqual(stopSentAt - 50)
        expect(messages.find((m) => m.ts >= label.end)?.temp).toBeLessThan(100)
      } else {
        expect(label.end - label.start).toBe(60_000)
      }
    }
    const press = summary.fleets.find((f) => f.fleet === 'press')!
    // 5 starts + 2 stops applied, 1 unknown name failed; every one answered.
    expect(press).toMatchObject({commandsReceived: 8, commandsApplied: 7, commandsFailed: 1, commandsReplied: 8, commandsIgnored: 0})
  })

  it('a command\'s mode holds against the schedule until the schedule\'s own mode changes; with for: only that long', {timeout: 150_000}, async () => {
    const broker = await startMosquitto()
    // A schedule change at a whole minute at least 15 s away (UTC, the fleet's zone), so both commands land before it.
    const now = Date.now()
    const change = Math.ceil((now + 15_000) / 60_000) * 60_000
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16)
    // boost is a mode of the schedule (on another day of the week), so commands may name it.
    const otherDay = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(new Date(change).getUTCDay() + 3) % 7]
    const scenario = loadScenario('inline.yaml', {
      text: `
version: 1
seed: 2
broker: {url: "${broker.url}", protocol: 5}
fleets:
  - name: ahu
    count: 2
    id: "ahu-{index:02}"
    topic: "hvac/{deviceId}"
    every: 250ms
    mode:
      initial: eco
      schedule:
        - {days: daily, from: "${hhmm(change)}", to: "${hhmm(change + 120_000)}", mode: comfort}
        - {days: ${otherDay}, from: "03:00", to: "04:00", mode: boost}
    fields:
      ts: {kind: timestamp}
      mode: {kind: mode}
    commands:
      - {name: boost, topic: "hvac/{deviceId}/boost", mode: boost}
      - {name: boost-briefly, topic: "hvac/{deviceId}/boost-briefly", mode: {to: boost, for: 2s}}
`,
    })
    const test = await client(broker.url, 'mode-commander')
    const telemetry = new Map<string, Array<{ts: number; mode: string}>>()
    test.on('message', (topic, payload) => {
      const device = topic.split('/')[1]
      telemetry.set(device, [...(telemetry.get(device) ?? []), JSON.parse(payload.toString())])
    })
    await test.subscribeAsync({'hvac/+': {qos: 0}})
    const modes = (device: string) => (telemetry.get(device) ?? []).map((m) => m.mode)
    const stop = new AbortController()
    const run = runSimulation({scenario, scenarioName: 'ahu', signal: stop.signal, durationMs: 140_000})
    let summary: SimulationSummary | undefined
    try {
      await expect.poll(() => telemetry.size, {timeout: loadAwareBound(20_000), interval: 50}).toBe(2)
      expect(Date.now()).toBeLessThan(change - 5000)
      test.publish('hvac/ahu-00/boost', '{}', {qos: 1})
      test.publish('hvac/ahu-01/boost-briefly', '{}', {qos: 1})
      await expect.poll(() => [modes('ahu-00').includes('boost'), modes('ahu-01').includes('boost')], {timeout: loadAwareBound(5000), interval: 50}).toEqual([true, true])
      // ahu-01 is back on the schedule's eco after its 2 s; ahu-00 still holds boost.
      await expect.poll(() => modes('ahu-01').at(-1), {timeout: loadAwareBound(5000), interval: 50}).toBe('eco')
      expect(modes('ahu-00').at(-1)).toBe('boost')
      // The schedule's change to comfort ends ahu-00's boost.
      await expect.poll(() => modes('ahu-00').at(-1), {timeout: loadAwareBound(change - Date.now() + 5000), interval: 100}).toBe('comfort')
    } finally {
      stop.abort()
      summary = await run
      await test.endAsync()
      await broker.stop()
    }
    // ahu-00: every message from its first boost up to the schedule's change says boost (the old code gave it back
    // to the schedule at the next message), and from the change on, comfort.
    const a = telemetry.get('ahu-00') ?? []
    const firstBoost = a.findIndex((m) => m.mode === 'boost')
    expect(a.slice(0, firstBoost).every((m) => m.mode === 'eco')).toBe(true)
    expect(a.slice(firstBoost).filter((m) => m.ts < change).every((m) => m.mode === 'boost')).toBe(true)
    expect(a.filter((m) => m.ts >= change).length).toBeGreaterThan(0)
    expect(a.filter((m) => m.ts >= change).every((m) => m.mode === 'comfort')).toBe(true)
    // ahu-01: boost for 2 s (a span of 1.5-2 s between its first and last boost message at 250 ms), eco before and after.
    const b = telemetry.get('ahu-01') ?? []
    const boosted = b.filter((m) => m.mode === 'boost')
    const span = boosted.at(-1)!.ts - boosted[0].ts
    expect(span).toBeGreaterThanOrEqual(1500)
    expect(span).toBeLessThan(2000)
    expect(b.filter((m) => m.ts < change && m.mode !== 'boost').every((m) => m.mode === 'eco')).toBe(true)
    // One contiguous run of boost messages.
    const first = b.indexOf(boosted[0])
    expect(b.slice(first, first + boosted.length).every((m) => m.mode === 'boost')).toBe(true)
    expect(summary.fleets.find((f) => f.fleet === 'ahu')).toMatchObject({commandsReceived: 2, commandsApplied: 2, commandsFailed: 0})
  })
})
