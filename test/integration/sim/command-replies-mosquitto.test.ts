import {performance} from 'node:perf_hooks'
import type {MqttClient} from 'mqtt'
import {expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/index.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {runSimulation, type SimulationSummary} from '../../../src/sim/run-simulation.js'
import {loadAwareBound} from '../../helpers/load-bound.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'

/**
 * Replies of simulated devices against a real mosquitto: a reply counts as replied only when it reached the broker,
 * so an independent subscriber sees exactly commandsReplied of them; a reply that could not be sent (the device was
 * rebooting) is counted in commandsReplyLost; commands that reach a device going down for a reboot are not taken,
 * counted as received and in commandsNotTaken (a persistent session delivers them again after the reconnect); and a
 * commanded reboot is no client error.
 */

async function until(condition: () => boolean, withinMs: number): Promise<void> {
  const end = performance.now() + withinMs
  while (!condition() && performance.now() < end) await new Promise((r) => setTimeout(r, 25))
}

const scenarioText = (url: string, opts: {session: 'clean' | 'persistent'; qos: 0 | 1; spLatency?: string}) => `
version: 1
seed: 1
broker: {url: "${url}", protocol: 5}
fleets:
  - name: g
    count: 1
    topic: "rg/{deviceId}/t"
    every: 500ms
    session: ${opts.session}
    fields: {sp: 20}
    commands:
      - {name: reboot, topic: "rg/{deviceId}/cmd", qos: ${opts.qos}, when: {"$.c": "reboot"}, reboot: {after: 1s}, reply: {topic: "rg/{deviceId}/ack", qos: ${opts.qos}}}
      - {name: sp, topic: "rg/{deviceId}/cmd", qos: ${opts.qos}, when: {"$.c": "sp"}, set: {sp: "$.v"}, ${opts.spLatency ? `latency: ${opts.spLatency}, ` : ''}reply: {topic: "rg/{deviceId}/ack", qos: ${opts.qos}}}
`

interface Observed {
  acks: string[]
  telemetry: Array<{sp: number}>
  logs: string[]
}

/**
 * Runs the scenario with an independent subscriber on the replies and telemetry; `drive` sends the commands once the
 * device has published (so it is subscribed). The run stops once `done` holds (or its bound passes).
 */
async function run(
  broker: Mosquitto,
  opts: Parameters<typeof scenarioText>[1],
  drive: (commander: MqttClient, seen: Observed) => Promise<void>,
  done: (seen: Observed) => boolean,
): Promise<{summary: SimulationSummary; seen: Observed}> {
  const scenario = loadScenario('inline.yaml', {text: scenarioText(broker.url, opts)})
  const seen: Observed = {acks: [], telemetry: [], logs: []}
  const watcher = await connectOnce({url: broker.url, clientId: 'watcher', protocol: '5'})
  watcher.on('message', (topic, payload) => {
    if (topic.endsWith('/ack')) seen.acks.push(JSON.parse(payload.toString()).command)
    else seen.telemetry.push(JSON.parse(payload.toString()))
  })
  await watcher.subscribeAsync({'rg/+/ack': {qos: 1}, 'rg/+/t': {qos: 0}})
  const commander = await connectOnce({url: broker.url, clientId: 'commander', protocol: '5'})
  const stop = new AbortController()
  const running = runSimulation({scenario, scenarioName: 'replies', signal: stop.signal, durationMs: 60_000, onLog: (m) => seen.logs.push(m)})
  let summary: SimulationSummary
  try {
    await until(() => seen.telemetry.length > 0, loadAwareBound(15_000))
    expect(seen.telemetry.length).toBeGreaterThan(0)
    await drive(commander, seen)
    await until(() => done(seen), loadAwareBound(10_000))
  } finally {
    stop.abort()
    summary = await running
    await commander.endAsync()
  }
  // Replies written just before the stop are with the broker: give them a moment to reach the watcher.
  await new Promise((r) => setTimeout(r, 300))
  await watcher.endAsync()
  return {summary, seen}
}

const notTaken = (logs: string[]): number => {
  const line = logs.find((m) => /reached a device going down/.test(m))
  return line ? Number(/^(\d+) command/.exec(line)?.[1]) : 0
}

describeMosquitto('command replies count what reached the broker (mosquitto)', () => {
  it('a reboot with two setpoints right behind it (clean session, QoS 0): replied equals what a subscriber got, no client errors', {timeout: 60_000}, async () => {
    const broker = await startMosquitto()
    try {
      const {summary, seen} = await run(
        broker,
        {session: 'clean', qos: 0},
        async (commander) => {
          // As `mosquitto_pub -l` sends three lines: back to back, so the setpoints reach the device as it goes down.
          for (const line of ['{"c":"reboot"}', '{"c":"sp","v":9}', '{"c":"sp","v":10}']) commander.publish('rg/g-0000/cmd', line, {qos: 1})
        },
        // Back after the reboot: telemetry again a while after the reboot's ack.
        (s) => s.acks.length > 0 && s.telemetry.length >= 6,
      )
      const g = summary.fleets[0]
      expect(seen.acks[0]).toBe('reboot')
      // Every reply counted as replied reached a subscriber; none more.
      expect(g.commandsReplied).toBe(seen.acks.length)
      // A setpoint either reached the device before it went down (applied; its reply, due while it was going down,
      // counted as not sent) or after (not taken, counted and said): each of the three is accounted for in the figures.
      // Before, a not-taken one was in no figure, only in the warning.
      expect(g.commandsReceived).toBe(3)
      expect(g.commandsNotTaken).toBe(notTaken(seen.logs))
      expect(g.commandsReceived).toBe(g.commandsApplied + g.commandsFailed + g.commandsIgnored + g.commandsNotTaken!)
      expect(summary.totals.commandsNotTaken).toBe(g.commandsNotTaken)
      expect(g.commandsReplied + g.commandsReplyLost).toBe(g.commandsReceived - g.commandsNotTaken!)
      // The reboot the user asked for is no client error, and MQTT.js's "client disconnecting" is never shown.
      expect(g.errors).toBe(0)
      expect(seen.logs.filter((m) => /client disconnecting/.test(m))).toEqual([])
    } finally {
      await broker.stop()
    }
  })

  it('a persistent session keeps the setpoints sent while the device reboots: applied and answered after the reconnect (QoS 1)', {timeout: 60_000}, async () => {
    const broker = await startMosquitto()
    try {
      const {summary, seen} = await run(
        broker,
        {session: 'persistent', qos: 1},
        async (commander, s) => {
          commander.publish('rg/g-0000/cmd', '{"c":"reboot"}', {qos: 1})
          // The reboot's reply is out: the device is going down (or gone). The broker keeps what comes now for it.
          await until(() => s.acks.length > 0, loadAwareBound(5000))
          for (const line of ['{"c":"sp","v":9}', '{"c":"sp","v":10}']) commander.publish('rg/g-0000/cmd', line, {qos: 1})
        },
        (s) => s.acks.length >= 3 && s.telemetry.at(-1)?.sp === 10,
      )
      const g = summary.fleets[0]
      expect(seen.acks).toEqual(['reboot', 'sp', 'sp'])
      expect(seen.telemetry.at(-1)?.sp).toBe(10)
      // A setpoint that reached the device still going down was not taken and arrived again after the reconnect: it
      // is received on each arrival, so received = 3 applied + the not taken.
      expect(g).toMatchObject({commandsReceived: 3 + g.commandsNotTaken!, commandsApplied: 3, commandsReplied: 3, commandsReplyLost: 0, commandsFailed: 0, errors: 0})
      expect(g.commandsNotTaken).toBe(notTaken(seen.logs))
    } finally {
      await broker.stop()
    }
  })

  it('a reply due while the device goes down for a reboot is counted as not sent, never as replied', {timeout: 60_000}, async () => {
    const broker = await startMosquitto()
    try {
      const {summary, seen} = await run(
        broker,
        {session: 'clean', qos: 1, spLatency: '5ms'},
        async (commander, s) => {
          // The reboot takes no time and replies at QoS 1, so the device's DISCONNECT waits for that reply's
          // acknowledgement (and MQTT.js's 10 ms more); the setpoint right behind it takes 5 ms, so its reply falls due
          // while the device is going down, its client disconnecting.
          commander.publish('rg/g-0000/cmd', '{"c":"reboot"}', {qos: 1})
          commander.publish('rg/g-0000/cmd', '{"c":"sp","v":9}', {qos: 1})
          await until(() => s.acks.length > 0, loadAwareBound(5000))
        },
        (s) => s.telemetry.length >= 6,
      )
      const g = summary.fleets[0]
      expect(seen.acks).toEqual(['reboot'])
      expect(g.commandsReplied).toBe(1)
      expect(g.errors).toBe(0)
      // The setpoint reached the device before it went down (applied, its reply counted as not sent and said), or, on
      // a slow machine, after (not taken, said).
      expect(g.commandsReceived).toBe(2)
      if (g.commandsNotTaken === 0) {
        expect(g).toMatchObject({commandsApplied: 2, commandsReplyLost: 1})
        expect(seen.logs.some((m) => /were not sent \(counted as replies not sent\)/.test(m))).toBe(true)
      } else {
        expect(g).toMatchObject({commandsApplied: 1, commandsNotTaken: 1, commandsReplyLost: 0})
        expect(notTaken(seen.logs)).toBe(1)
      }
    } finally {
      await broker.stop()
    }
  })
})
