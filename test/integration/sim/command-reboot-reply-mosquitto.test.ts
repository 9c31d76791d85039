import {expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/index.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {runSimulation, type SimulationSummary} from '../../../src/sim/run-simulation.js'
import {loadAwareBound} from '../../helpers/load-bound.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

/**
 * A reboot that drops the socket (`will: true`, so the broker sends the last will) after a QoS 0 reply: the reply is
 * on the wire before the socket goes. Before, the socket was destroyed while MQTT.js still held the reply: three
 * reboots were counted as three replies and none arrived.
 */
describeMosquitto('a reboot with will after its reply, with mosquitto', () => {
  // QoS 1: MQTT.js puts the reply in its store before writing it, more than one tick later; the socket dropped before,
  // and MQTT.js resent the reply only after the reconnect (ack after the device was back).
  it.each([0, 1])('each of three reboots: its QoS %i reply arrives, then the will, then the device is back', {timeout: 90_000}, async (replyQos) => {
    const broker = await startMosquitto()
    const scenario = loadScenario('inline.yaml', {
      text: `
version: 1
broker: {url: "${broker.url}"}
fleets:
  - name: rb
    count: 1
    id: "rb{index}"
    topic: "rb/{deviceId}/t"
    every: 200ms
    lwt: {topic: "rb/{deviceId}/status", payload: offline}
    birth: {topic: "rb/{deviceId}/status", payload: online}
    fields: {v: 1}
    commands:
      - {name: reboot, topic: "rb/{deviceId}/cmd/reboot", reboot: {after: 500ms, will: true}, reply: {topic: "rb/{deviceId}/ack", qos: ${replyQos}}}
`,
    })
    const test = await connectOnce({url: broker.url, clientId: 'reboot-tester'})
    const events: string[] = []
    test.on('message', (topic, payload) => {
      if (!topic.endsWith('/t')) events.push(`${topic.split('/').at(-1)} ${payload.toString()}`)
    })
    await test.subscribeAsync({'rb/rb0/ack': {qos: 1}, 'rb/rb0/status': {qos: 1}})
    const stop = new AbortController()
    const run = runSimulation({scenario, scenarioName: 'reboot-reply', signal: stop.signal, durationMs: 60_000})
    let summary: SimulationSummary | undefined
    const online = () => events.filter((e) => e === 'status online').length
    try {
      await expect.poll(online, {timeout: loadAwareBound(20_000), interval: 50}).toBe(1)
      for (let k = 1; k <= 3; k++) {
        await test.publishAsync('rb/rb0/cmd/reboot', '{}', {qos: 1})
        // Back online after the reboot: its subscription is in place again for the next one.
        await expect.poll(online, {timeout: loadAwareBound(10_000), interval: 50}).toBe(k + 1)
      }
    } finally {
      stop.abort()
      summary = await run
      await test.endAsync()
      await broker.stop()
    }
    const ack = 'ack {"status":"ok","command":"reboot","deviceId":"rb0"}'
    expect(events).toEqual(['status online', ...[1, 2, 3].flatMap(() => [ack, 'status offline', 'status online'])])
    expect(summary.fleets[0]).toMatchObject({commandsReceived: 3, commandsApplied: 3, commandsReplied: 3})
  })
})
