import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/index.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {runSimulation, type SimulationSummary} from '../../../src/sim/run-simulation.js'
import {loadAwareBound} from '../../helpers/load-bound.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

/**
 * One command, one reaction, when a device's subscriptions overlap. mosquitto sends an MQTT 5 client one copy per
 * matching subscription: before, `{deviceId}/cmd/set` and `{deviceId}/cmd/#` made a setpoint react and reply twice
 * (and count twice), and a behaviour module subscribed to `cmd/#` silently took every command from the rules.
 */

const dir = mkdtempSync(join(tmpdir(), 'iotd-cmd-overlap-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describeMosquitto('overlapping command subscriptions, MQTT 5, with mosquitto', () => {
  it('a rule and a catch-all rule, a rule and a behaviour module: each message is handled once, by the rule first', {timeout: 90_000}, async () => {
    const broker = await startMosquitto()
    writeFileSync(join(dir, 'echo.cjs'), `module.exports = {subscribe: ['mix/{deviceId}/cmd/#'], onMessage(device, m) { device.publish('mix/' + device.id + '/evt', {saw: m.topic}) }}\n`)
    const scenario = loadScenario(join(dir, 'overlap.yaml'), {
      text: `
version: 1
broker: {url: "${broker.url}", protocol: 5}
fleets:
  - name: ov
    count: 1
    id: "ov{index}"
    topic: "ov/{deviceId}/t"
    every: 200ms
    fields: {level: 0}
    commands:
      - {name: set, topic: "ov/{deviceId}/cmd/set", set: {level: "$.level"}, reply: {topic: "ov/{deviceId}/ack"}}
      - {name: catchall, topic: "ov/{deviceId}/cmd/#", reply: {topic: "ov/{deviceId}/ack"}}
  - name: mix
    count: 1
    id: "mix{index}"
    topic: "mix/{deviceId}/t"
    every: 200ms
    behavior: ./echo.cjs
    fields: {level: 0}
    commands:
      - {name: set, topic: "mix/{deviceId}/cmd/set", set: {level: "$.level"}, reply: {topic: "mix/{deviceId}/ack"}}
`,
    })
    const test = await connectOnce({url: broker.url, clientId: 'overlap-tester', protocol: '5'})
    // What the devices sent besides telemetry: acks and the module's events.
    const seen: string[] = []
    const levels = new Map<string, number>()
    test.on('message', (topic, payload) => {
      if (topic.endsWith('/t')) levels.set(topic.split('/')[1], (JSON.parse(payload.toString()) as {level: number}).level)
      else if (!topic.includes('/cmd/')) seen.push(`${topic} ${payload.toString()}`)
    })
    await test.subscribeAsync({'ov/#': {qos: 1}, 'mix/#': {qos: 1}})
    const stop = new AbortController()
    const run = runSimulation({scenario, scenarioName: 'overlap', signal: stop.signal, durationMs: 60_000})
    let summary: SimulationSummary | undefined
    try {
      // Both devices published, so their subscriptions (sent before the first PUBLISH) are in place.
      await expect.poll(() => levels.size, {timeout: loadAwareBound(20_000), interval: 50}).toBe(2)
      await test.publishAsync('ov/ov0/cmd/set', '{"level":4}', {qos: 1})
      await test.publishAsync('ov/ov0/cmd/other', '{}', {qos: 1})
      await test.publishAsync('mix/mix0/cmd/set', '{"level":7}', {qos: 1})
      await test.publishAsync('mix/mix0/cmd/other', '{}', {qos: 1})
      await expect.poll(() => seen.length, {timeout: loadAwareBound(10_000), interval: 50}).toBe(4)
      await expect.poll(() => [levels.get('ov0'), levels.get('mix0')], {timeout: loadAwareBound(5000), interval: 50}).toEqual([4, 7])
    } finally {
      stop.abort()
      summary = await run
      await test.endAsync()
      await broker.stop()
    }
    // Exactly one answer per command: the set rule's, the catch-all's for the other topic; the module got only what
    // no rule took.
    expect(seen.sort()).toEqual([
      'mix/mix0/ack {"status":"ok","command":"set","deviceId":"mix0"}',
      'mix/mix0/evt {"saw":"mix/mix0/cmd/other"}',
      'ov/ov0/ack {"status":"ok","command":"catchall","deviceId":"ov0"}',
      'ov/ov0/ack {"status":"ok","command":"set","deviceId":"ov0"}',
    ])
    expect(summary.fleets.find((f) => f.fleet === 'ov')).toMatchObject({commandsReceived: 2, commandsApplied: 2, commandsReplied: 2, commandsIgnored: 0})
    expect(summary.fleets.find((f) => f.fleet === 'mix')).toMatchObject({commandsReceived: 2, commandsApplied: 2, commandsReplied: 1, commandsIgnored: 0})
  })
})
