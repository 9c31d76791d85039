import {expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/index.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {runSimulation, type SimulationSummary} from '../../../src/sim/run-simulation.js'
import {loadAwareBound} from '../../helpers/load-bound.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

/**
 * Issue #14: a reply shows the fields as the device holds them after the reaction, what its next message carries.
 * Before, a reply read the last message's values: before the first message every field was 0 (strings too), and
 * after a mode command or a release the reply still showed the values from before.
 */
describeMosquitto('the values a command reply shows, with mosquitto', () => {
  it('before the first message: the first message\'s values; after a mode change and a release: the next message\'s', {timeout: 60_000}, async () => {
    const broker = await startMosquitto()
    const fleet = (name: string, every: string) => `
  - name: ${name}
    count: 1
    id: "${name}{index}"
    topic: "rv/{deviceId}/t"
    every: ${every}
    mode: {initial: comfort, transitions: {comfort: {}, eco: {}}}
    fields:
      mode: {kind: mode}
      label: "hello {deviceId}"
      sp: {kind: constant, value: 21.5, byMode: {eco: {value: 18}}}
      temp: {kind: walk, mean: 20, theta: 0.1, sigma: 0.5, resolution: 0.01}
    commands:
      - {name: sp, topic: "rv/{deviceId}/sp", set: {sp: "$.v"}, reply: {topic: "rv/{deviceId}/ack", payload: '{"mode":"{mode}","sp":{sp}}'}}
      - name: mode
        topic: "rv/{deviceId}/mode"
        mode: "$.mode"
        release: [sp]
        reply: {topic: "rv/{deviceId}/ack", payload: '{"status":"{status}","mode":"{mode}","label":"{label}","sp":{sp},"temp":{temp}}'}`
    const scenario = loadScenario('inline.yaml', {
      text: `
version: 1
seed: 1
broker: {url: "${broker.url}", protocol: 5}
fleets:${fleet('late', '1h')}${fleet('fast', '200ms')}
`,
    })
    const test = await connectOnce({url: broker.url, clientId: 'reply-values', protocol: '5'})
    const acks: Record<string, Array<Record<string, unknown>>> = {late0: [], fast0: []}
    const telemetry: Record<string, Array<Record<string, unknown>>> = {late0: [], fast0: []}
    test.on('message', (topic, payload) => {
      const [, device, kind] = topic.split('/')
      ;(kind === 'ack' ? acks : telemetry)[device].push(JSON.parse(payload.toString()))
    })
    await test.subscribeAsync({'rv/+/ack': {qos: 1}, 'rv/+/t': {qos: 1}})
    const stop = new AbortController()
    const run = runSimulation({scenario, scenarioName: 'reply-values', signal: stop.signal, durationMs: 50_000})
    let summary: SimulationSummary | undefined
    try {
      // The fast device has published, so both are connected and subscribed (the late one's first message is minutes away).
      await expect.poll(() => telemetry.fast0.length, {timeout: loadAwareBound(20_000), interval: 25}).toBeGreaterThan(0)

      // (1) Before its first message: the values that message will carry, strings included, in the commanded mode.
      await test.publishAsync('rv/late0/mode', '{"mode":"eco"}', {qos: 1})
      await expect.poll(() => acks.late0.length, {timeout: loadAwareBound(5000), interval: 25}).toBe(1)
      expect(telemetry.late0).toEqual([])
      expect(acks.late0[0]).toEqual({status: 'ok', mode: 'eco', label: 'hello late0', sp: 18, temp: 20})

      // (2) A held value, then a mode command that releases it: the reply shows what the next message shows.
      await test.publishAsync('rv/fast0/sp', '{"v":19.5}', {qos: 1})
      await expect.poll(() => acks.fast0.length, {timeout: loadAwareBound(5000), interval: 25}).toBe(1)
      expect(acks.fast0[0]).toEqual({mode: 'comfort', sp: 19.5})
      await expect.poll(() => telemetry.fast0.at(-1)?.sp, {timeout: loadAwareBound(5000), interval: 25}).toBe(19.5)
      await test.publishAsync('rv/fast0/mode', '{"mode":"eco"}', {qos: 1})
      await expect.poll(() => acks.fast0.length, {timeout: loadAwareBound(5000), interval: 25}).toBe(2)
      const seen = telemetry.fast0.length
      expect(acks.fast0[1]).toMatchObject({status: 'ok', mode: 'eco', label: 'hello fast0', sp: 18})
      await expect.poll(() => telemetry.fast0.length, {timeout: loadAwareBound(5000), interval: 25}).toBeGreaterThan(seen)
      expect(telemetry.fast0[seen]).toMatchObject({mode: 'eco', label: 'hello fast0', sp: 18})
    } finally {
      stop.abort()
      summary = await run
      await test.endAsync()
      await broker.stop()
    }
    expect(summary.fleets.map((f) => [f.fleet, f.commandsApplied, f.commandsReplied])).toEqual([
      ['late', 1, 1],
      ['fast', 2, 2],
    ])
  })
})
