import {expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/index.js'
import {simVerdicts} from '../../../src/report/sim-summary.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {runSimulation, type SimulationSummary} from '../../../src/sim/run-simulation.js'
import {loadAwareBound} from '../../helpers/load-bound.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

/**
 * Issue #14: a reboot hides nothing. Before, a reply that fell due while the device was rebooting was neither sent
 * nor counted (summary "2 applied, 0 replied, 0 failed", and "✓ no late, dropped or failed messages"), and the
 * messages due during the reboot appeared in no figure: the schedule stopped and resumed where it was.
 */
describeMosquitto('what a reboot costs is counted, with mosquitto', () => {
  it('a reply due during a reboot is counted as not sent and warned about; messages due meanwhile are dropped (QoS 0) or queued and sent after (QoS 1)', {timeout: 60_000}, async () => {
    const broker = await startMosquitto()
    const fleet = (name: string, qos: number) => `
  - name: ${name}
    count: 1
    id: "${name}{index}"
    topic: "rr/{deviceId}/t"
    every: 100ms
    qos: ${qos}
    fields: {sp: 21.5, ts: {kind: timestamp}}
    commands:
      - {name: sp, topic: "rr/{deviceId}/sp", set: {sp: "$.value"}, latency: 500ms, reply: true}
      - {name: boot, topic: "rr/{deviceId}/reboot", reboot: 2s}`
    const scenario = loadScenario('inline.yaml', {
      text: `
version: 1
seed: 1
broker: {url: "${broker.url}", protocol: 5}
fleets:${fleet('q0', 0)}${fleet('q1', 1)}
`,
    })
    const test = await connectOnce({url: broker.url, clientId: 'reboot-accounting', protocol: '5'})
    const stamps: Record<string, number[]> = {q00: [], q10: []}
    const replies: string[] = []
    test.on('message', (topic, payload) => {
      if (topic === 'rr/replies') replies.push(payload.toString())
      else stamps[topic.split('/')[1]].push(JSON.parse(payload.toString()).ts)
    })
    await test.subscribeAsync({'rr/+/t': {qos: 1}, 'rr/replies': {qos: 1}})
    const stop = new AbortController()
    const run = runSimulation({scenario, scenarioName: 'reboot-accounting', signal: stop.signal, durationMs: 50_000})
    let summary: SimulationSummary | undefined
    try {
      await expect.poll(() => Math.min(stamps.q00.length, stamps.q10.length), {timeout: loadAwareBound(20_000), interval: 25}).toBeGreaterThan(0)
      for (const device of ['q00', 'q10']) {
        await test.publishAsync(`rr/${device}/sp`, '{"value":18}', {qos: 1, properties: {responseTopic: 'rr/replies', correlationData: Buffer.from('42')}})
        await test.publishAsync(`rr/${device}/reboot`, '{}', {qos: 1})
      }
      // Back from the reboot and publishing again for a second: the reply's moment has long passed.
      const sent = {q00: stamps.q00.length, q10: stamps.q10.length}
      await expect.poll(() => stamps.q00.length - sent.q00, {timeout: loadAwareBound(15_000), interval: 25}).toBeGreaterThan(10)
      await expect.poll(() => stamps.q10.length - sent.q10, {timeout: loadAwareBound(15_000), interval: 25}).toBeGreaterThan(30)
    } finally {
      stop.abort()
      summary = await run
      await test.endAsync()
      await broker.stop()
    }
    expect(replies).toEqual([])
    for (const f of summary.fleets) expect([f.fleet, f.commandsApplied, f.commandsReplied, f.commandsReplyLost]).toEqual([f.fleet, 2, 0, 1])
    expect(summary.warnings.some((w) => /were not sent \(counted as replies not sent\)/.test(w))).toBe(true)
    const verdicts = simVerdicts(summary, 2)
    expect(verdicts.some((v) => v.text.startsWith('2 replies to commands and twin updates were not sent'))).toBe(true)
    expect(verdicts.some((v) => v.level === 'ok')).toBe(false)

    // QoS 0: the 2 s reboot at 100 ms left about 20 messages undelivered, counted as dropped.
    const q0 = summary.fleets.find((f) => f.fleet === 'q0')!
    expect(q0.dropped).toBeGreaterThanOrEqual(15)
    // QoS 1: what fell due during the reboot was queued and sent after it, so the timestamps have no 2 s hole.
    const gaps = stamps.q10.slice(1).map((ts, i) => ts - stamps.q10[i])
    expect(Math.max(...gaps)).toBeLessThan(1000)
    expect(summary.fleets.find((f) => f.fleet === 'q1')!.dropped).toBe(0)
  })
})
