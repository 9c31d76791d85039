import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import type {IPublishPacket, MqttClient} from 'mqtt'
import {afterAll, expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/index.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {runSimulation, type SimulationSummary} from '../../../src/sim/run-simulation.js'
import {runRecord} from '../../../src/tools/record.js'
import {runReplay} from '../../../src/tools/replay.js'
import {loadAwareBound} from '../../helpers/load-bound.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

/**
 * Issue #14, acceptance 1 and 2: devices that answer commands, and MQTT 5 properties, against a real mosquitto.
 * The test client is plain MQTT.js (MQTT 5): it sends the commands, reads replies and telemetry, and plays the
 * twin service.
 */

const dir = mkdtempSync(join(tmpdir(), 'iotd-commands-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** The test client: MQTT 5, connected (a refused or unreachable broker fails the test with the reason). */
const client = (url: string, id: string): Promise<MqttClient> => connectOnce({url, clientId: id, protocol: '5'})

/** Polls until the condition holds (or the bound passes, then the last value is returned for the assertion). */
async function until(condition: () => boolean, withinMs: number): Promise<void> {
  const end = performance.now() + withinMs
  while (!condition() && performance.now() < end) await new Promise((r) => setTimeout(r, 25))
}

describeMosquitto('sim commands and MQTT 5 properties against mosquitto', () => {
  it('1,000 devices: setpoints applied within their latency and answered with the correlation data, a twin converges, a wildcard command reaches all', {timeout: 180_000}, async () => {
    const broker = await startMosquitto()
    const DEVICES = 1000
    const EVERY_MS = 500
    const LATENCY_MAX_MS = 150
    const scenario = loadScenario('inline.yaml', {
      text: `
version: 1
seed: 14
broker: {url: "${broker.url}", protocol: 5}
connect: {over: 3s}
fleets:
  - name: zone
    count: ${DEVICES}
    id: "zone-{index:04}"
    topic: "bldg/{deviceId}/telemetry"
    every: ${EVERY_MS}ms
    fields:
      setpoint: 21
      fan: 1
      temp: {kind: gaussian, mean: 21, stddev: 0.2, resolution: 0.01}
    commands:
      - name: setpoint
        topic: "bldg/{deviceId}/cmd/setpoint"
        when: {"$.unit": "C"}
        set: {setpoint: "$.value"}
        latency: {min: 20ms, max: ${LATENCY_MAX_MS}ms}
        reply: {payload: '{"status":"{status}","deviceId":"{deviceId}","setpoint":{setpoint}}'}
      - name: ping
        topic: "bldg/all/cmd/ping"
        reply: {topic: "bldg/{deviceId}/pong", qos: 1}
    twin: {fields: [fan], delay: 100ms}
`,
    })
    const test = await client(broker.url, 'commander')
    const telemetry = new Map<string, {setpoint: number; fan: number; at: number}>()
    const replies: Array<{topic: string; payload: string; correlation?: string; at: number}> = []
    const pongs = new Set<string>()
    const reported = new Map<string, number>()
    test.on('message', (topic, payload, packet: IPublishPacket) => {
      const at = performance.now()
      if (topic.endsWith('/telemetry')) {
        const m = JSON.parse(payload.toString())
        telemetry.set(topic.split('/')[1], {setpoint: m.setpoint, fan: m.fan, at})
      } else if (topic === 'test/replies') {
        replies.push({topic, payload: payload.toString(), correlation: packet.properties?.correlationData?.toString(), at})
      } else if (topic.endsWith('/pong')) {
        pongs.add(topic.split('/')[1])
      } else if (topic.endsWith('/twin/reported')) {
        reported.set(topic.split('/')[0], JSON.parse(payload.toString()).fan)
      }
    })
    await test.subscribeAsync({'bldg/+/telemetry': {qos: 0}, 'test/replies': {qos: 1}, 'bldg/+/pong': {qos: 1}, '+/twin/reported': {qos: 1}})

    const stop = new AbortController()
    const run = runSimulation({scenario, scenarioName: 'commands', signal: stop.signal, durationMs: 170_000})
    let summary: SimulationSummary | undefined
    try {
      // Every device has published, so its SUBSCRIBE (sent before its first PUBLISH) is in place.
      await until(() => telemetry.size === DEVICES, loadAwareBound(20_000))
      expect(telemetry.size).toBe(DEVICES)

      // (1) A setpoint to 100 devices, each with its own correlation data, answered on the response topic.
      const targets = Array.from({length: 100}, (_, k) => `zone-${String(k * 10).padStart(4, '0')}`)
      const sentAt = new Map<string, number>()
      for (const [k, id] of targets.entries()) {
        sentAt.set(id, performance.now())
        test.publish(`bldg/${id}/cmd/setpoint`, JSON.stringify({value: 18 + (k % 10) / 2, unit: 'C'}), {qos: 1, properties: {responseTopic: 'test/replies', correlationData: Buffer.from(`corr-${id}`)}})
      }
      // One the rule does not match (unit F): counted as ignored, never applied.
      test.publish(`bldg/zone-0001/cmd/setpoint`, JSON.stringify({value: 99, unit: 'F'}), {qos: 1})
      await until(() => replies.length >= 100, loadAwareBound(10_000))
      expect(replies).toHaveLength(100)
      let matched = 0
      for (const r of replies) {
        const body = JSON.parse(r.payload)
        if (r.correlation === `corr-${body.deviceId}` && body.status === 'ok') matched++
        // Each reply came after the device's drawn latency, within the declared maximum (plus delivery, load-aware).
        expect(r.at - (sentAt.get(body.deviceId) ?? Infinity)).toBeLessThanOrEqual(loadAwareBound(LATENCY_MAX_MS + 250))
      }
      expect(matched).toBe(100)
      const expected = new Map(targets.map((id, k) => [id, 18 + (k % 10) / 2]))
      // Later telemetry of every target shows its setpoint; the others still say 21.
      await until(() => targets.every((id) => telemetry.get(id)?.setpoint === expected.get(id)), loadAwareBound(EVERY_MS * 2 + LATENCY_MAX_MS + 1000))
      expect(targets.filter((id) => telemetry.get(id)?.setpoint !== expected.get(id))).toEqual([])
      expect(telemetry.get('zone-0001')?.setpoint).toBe(21)

      // (2) A twin: desired fan speed to every device; each reports it and its telemetry shows it.
      for (let i = 0; i < DEVICES; i++) test.publish(`zone-${String(i).padStart(4, '0')}/twin/desired`, JSON.stringify({fan: 3, unknown: true}), {qos: 1})
      await until(() => reported.size === DEVICES && [...reported.values()].every((v) => v === 3), loadAwareBound(15_000))
      expect(reported.size).toBe(DEVICES)
      expect([...reported.values()].every((v) => v === 3)).toBe(true)
      await until(() => [...telemetry.values()].every((t) => t.fan === 3), loadAwareBound(5000))
      expect([...telemetry.values()].filter((t) => t.fan !== 3)).toHaveLength(0)

      // (3) One command on a topic every device subscribes to reaches every device.
      test.publish('bldg/all/cmd/ping', '{}', {qos: 1})
      await until(() => pongs.size === DEVICES, loadAwareBound(15_000))
      expect(pongs.size).toBe(DEVICES)
    } finally {
      stop.abort()
      summary = await run
      await test.endAsync()
      await broker.stop()
    }
    const zone = summary.fleets.find((f) => f.fleet === 'zone')!
    // received = 100 setpoints + 1 unmatched + 1,000 desired + 1,000 pings; everything applied and answered.
    expect(zone).toMatchObject({commandsReceived: 2101, commandsApplied: 2100, commandsReplied: 2100, commandsFailed: 0, commandsIgnored: 1})
  })

  it('MQTT 5 properties: a subscriber and mosquitto_sub -V 5 see the user properties and expiry; record -> replay keeps them', {timeout: 60_000}, async () => {
    const broker = await startMosquitto()
    const scenario = loadScenario('inline.yaml', {
      text: `
version: 1
seed: 2
broker: {url: "${broker.url}", protocol: "5"}
fleets:
  - name: meter
    count: 3
    vars: {site: {cycle: [north, south]}}
    topic: "grid/{site}/{deviceId}"
    every: 200ms
    qos: 1
    properties:
      userProperties: {site: "{site}", schema: "meter/v1"}
      messageExpiry: 90s
      contentType: application/json
      payloadFormat: utf8
      topicAlias: true
    fields:
      kw: {kind: uniform, min: 1, max: 2, resolution: 0.01}
`,
    })
    const seen: Array<{topic: string; properties: IPublishPacket['properties']}> = []
    const sub = await client(broker.url, 'props-sub')
    sub.on('message', (topic, _p, packet: IPublishPacket) => seen.push({topic, properties: packet.properties}))
    await sub.subscribeAsync('grid/#', {qos: 1})
    // mosquitto's own client prints the properties it received (%P: user properties, %E: expiry, %C: content type).
    const mosq = spawn('mosquitto_sub', ['-h', broker.host, '-p', String(broker.port), '-V', '5', '-t', 'grid/#', '-q', '1', '-F', '%t|%P|%E|%C', '-C', '6'], {stdio: ['ignore', 'pipe', 'pipe']})
    let mosqOut = ''
    mosq.stdout.on('data', (d: Buffer) => (mosqOut += d.toString()))
    let mosqExited = false
    const mosqDone = new Promise<void>((resolve) => mosq.on('exit', () => resolve()))
    void mosqDone.then(() => (mosqExited = true))
    const capture = join(dir, 'props.csv')
    const recordStop = new AbortController()
    const recording = runRecord({source: {url: broker.url, topics: ['grid/#'], protocol: '5', qos: 1}, out: capture, signal: recordStop.signal})
    await new Promise((r) => setTimeout(r, 300))
    // Runs until both subscribers have their messages (worker start-up on a loaded machine can take seconds).
    const simStop = new AbortController()
    const run = runSimulation({scenario, scenarioName: 'props', signal: simStop.signal, durationMs: 40_000})
    await until(() => seen.length >= 6 && mosqExited, 30_000)
    simStop.abort()
    await run
    recordStop.abort()
    const recorded = await recording
    await mosqDone
    expect(seen.length).toBeGreaterThanOrEqual(6)
    for (const m of seen) {
      const site = m.topic.split('/')[1]
      expect(m.properties?.userProperties).toEqual({site, schema: 'meter/v1'})
      // The broker passes on what is left of the expiry: at most 90 s, and it was delivered at once.
      expect(m.properties?.messageExpiryInterval).toBeGreaterThan(85)
      expect(m.properties?.messageExpiryInterval).toBeLessThanOrEqual(90)
      expect(m.properties?.contentType).toBe('application/json')
      expect(m.properties?.payloadFormatIndicator).toBe(true)
    }
    const lines = mosqOut.trim().split('\n')
    expect(lines).toHaveLength(6)
    for (const line of lines) expect(line).toMatch(/^grid\/(north|south)\/meter-\d{4}\|.*site:(north|south).*schema:meter\/v1.*\|(8[6-9]|90)\|application\/json$/)

    // The capture keeps the properties; a replay publishes them again.
    expect(recorded.recorded).toBeGreaterThanOrEqual(6)
    const text = readFileSync(capture, 'utf8')
    expect(text.split('\n')[0]).toBe('ts,topic,qos,retain,encoding,payload,properties')
    const replayed: Array<IPublishPacket['properties']> = []
    const again = await client(broker.url, 'replay-sub')
    again.on('message', (_t, _p, packet: IPublishPacket) => replayed.push(packet.properties))
    await again.subscribeAsync('copy/#', {qos: 1})
    const replay = await runReplay({file: capture, broker: {url: broker.url, protocol: '5'}, maxSpeed: true, topicPrefix: 'copy/', qos: 1})
    expect(replay.published).toBe(recorded.recorded)
    await until(() => replayed.length >= recorded.recorded, 20_000)
    expect(replayed).toHaveLength(recorded.recorded)
    for (const p of replayed) {
      expect(p?.userProperties?.schema).toBe('meter/v1')
      expect(p?.contentType).toBe('application/json')
      expect(p?.messageExpiryInterval).toBeGreaterThan(0)
    }
    await sub.endAsync()
    await again.endAsync()
    await broker.stop()
  })

  it('a behaviour module: the shipped pump ramps to the speed it is told, reports on its own topic, and a throwing hook is counted', {timeout: 60_000}, async () => {
    const broker = await startMosquitto()
    const scenario = loadScenario(join(import.meta.dirname, '../../../scenarios/hvac-commands.yaml'), {env: {}})
    const pumps = {...scenario, broker: {...scenario.broker, url: broker.url}, fleets: scenario.fleets.filter((f) => f.name === 'pump')}
    const test = await client(broker.url, 'pump-commander')
    const rpm = new Map<string, number[]>()
    const events: Array<{topic: string; body: {event: string; target?: number}}> = []
    test.on('message', (topic, payload) => {
      if (topic.startsWith('bldg/plant/')) {
        const id = topic.split('/')[2]
        rpm.set(id, [...(rpm.get(id) ?? []), JSON.parse(payload.toString()).rpm])
      } else events.push({topic, body: JSON.parse(payload.toString())})
    })
    await test.subscribeAsync({'bldg/plant/+': {qos: 0}, '+/events': {qos: 1}})
    const stop = new AbortController()
    const run = runSimulation({scenario: pumps, scenarioName: 'pumps', signal: stop.signal, durationMs: 50_000})
    let summary: SimulationSummary | undefined
    try {
      await until(() => rpm.size === 4, loadAwareBound(10_000))
      test.publish('pump-01/cmd/speed', JSON.stringify({rpm: 1150}), {qos: 1})
      test.publish('pump-02/cmd/speed', 'no json', {qos: 1})
      // 1450 -> 1150 by 100 per message: 1350, 1250, 1150, then it stays.
      await until(() => rpm.get('pump-01')?.at(-1) === 1150, loadAwareBound(15_000))
      const seen = rpm.get('pump-01') ?? []
      expect(seen.at(-1)).toBe(1150)
      const ramp = seen.slice(seen.indexOf(1350) - 1)
      expect(ramp.slice(0, 4)).toEqual([1450, 1350, 1250, 1150])
      expect(events).toContainEqual({topic: 'pump-01/events', body: {event: 'speed', target: 1150}})
      expect(rpm.get('pump-00')?.every((v) => v === 1450)).toBe(true)
    } finally {
      stop.abort()
      summary = await run
      await test.endAsync()
      await broker.stop()
    }
    const pump = summary.fleets.find((f) => f.fleet === 'pump')!
    // The speed command was applied; the one without JSON made the module throw: a failed command and an error.
    expect(pump).toMatchObject({commandsReceived: 2, commandsApplied: 1, commandsFailed: 1, errors: 1})
    expect(summary.warnings.some((w) => w.includes('speed command without a numeric rpm'))).toBe(true)
  })
})
