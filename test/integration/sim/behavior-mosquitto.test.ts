import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {afterAll, expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/index.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {runSimulation, type SimulationSummary} from '../../../src/sim/run-simulation.js'
import {loadAwareBound} from '../../helpers/load-bound.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

/** A behaviour module's device.publish and device.set against a real mosquitto: what it refuses never reaches the broker. */

const dir = mkdtempSync(join(tmpdir(), 'iotd-behavior-mosq-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

async function until(condition: () => boolean, withinMs: number): Promise<void> {
  const end = performance.now() + withinMs
  while (!condition() && performance.now() < end) await new Promise((r) => setTimeout(r, 25))
}

describeMosquitto('behaviour modules against mosquitto', () => {
  it('a publish to a wildcard topic and text set into a number field are refused in the module, counted and said; the device stays connected', {timeout: 60_000}, async () => {
    // Before: mosquitto closed the device's connection on PUBLISH bad/#/topic (ECONNRESET, a reconnect, exit 0), and
    // device.set('rpm', 'fast') published {"rpm":"fast"}.
    const broker = await startMosquitto()
    writeFileSync(join(dir, 'm.cjs'), [
      'module.exports = {',
      '  onTick(device) {',
      "    if (device.n === 1) device.publish('bad/#/topic', {x: 1})",
      "    if (device.n === 2) device.set('rpm', 'fast')",
      "    if (device.n >= 3) device.set('rpm', device.n * 10)",
      "    if (device.n === 3) device.publish(`${device.id}/events`, {ok: true}, {qos: 1})",
      '  },',
      '}',
    ].join('\n'))
    const file = join(dir, 's.yaml')
    writeFileSync(file, `version: 1\nseed: 1\nbroker: {url: "${broker.url}", protocol: 5}\nfleets:\n  - name: pump\n    count: 1\n    id: "pump-{index:02}"\n    topic: "p/{deviceId}"\n    every: 200ms\n    behavior: ./m.cjs\n    fields: {rpm: 1450}\n`)
    const scenario = loadScenario(file, {env: {}, loadBehaviors: true})
    const test = await connectOnce({url: broker.url, clientId: 'behavior-watcher', protocol: '5'})
    const rpm: unknown[] = []
    const events: string[] = []
    test.on('message', (topic, payload) => {
      if (topic.startsWith('p/')) rpm.push(JSON.parse(payload.toString()).rpm)
      else events.push(`${topic} ${payload.toString()}`)
    })
    await test.subscribeAsync({'p/+': {qos: 0}, '+/events': {qos: 1}})
    const stop = new AbortController()
    const run = runSimulation({scenario, scenarioName: 'refused', signal: stop.signal, durationMs: 50_000})
    let summary: SimulationSummary | undefined
    try {
      await until(() => rpm.includes(50) && events.length > 0, loadAwareBound(15_000))
    } finally {
      stop.abort()
      summary = await run
      await test.endAsync()
      await broker.stop()
    }
    expect(rpm).toContain(50)
    expect(rpm.every((v) => typeof v === 'number')).toBe(true)
    expect(events).toEqual(['pump-00/events {"ok":true}'])
    const pump = summary.fleets.find((f) => f.fleet === 'pump')!
    expect(pump).toMatchObject({errors: 2, disconnects: 0, reconnects: 0})
    expect(summary.warnings).toContain('pump-00: behavior: device.publish: topic "bad/#/topic" contains "#" at column 5: wildcards (+, #) are for subscribing; a device cannot publish to them; nothing was sent')
    expect(summary.warnings).toContain('pump-00: behavior: device.set: field rpm is a number, but "fast" is not one')
  })
})
