/**
 * The shipped overheat-alerts pipeline against a real mosquitto, as its header comment says to run it live: MQTT
 * telemetry in, the registry join and threshold, MQTT alerts out on `alerts/${deviceId}`.
 */
import mqtt from 'mqtt'
import {describe, expect, it} from 'vitest'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'
import {loadPipeline, runPipeline} from '../../../src/pipeline/index.js'

describeMosquitto('overheat-alerts over MQTT', () => {
  describe('live', () => {
    it('publishes one alert per reading above the device limit, to alerts/<deviceId>', async () => {
      const broker = await startMosquitto()
      const pipeline = loadPipeline('scenarios/pipelines/overheat-alerts.yaml', {
        set: [
          `sources.telemetry={type: mqtt, url: "${broker.url}", topics: ["plant/+/+/telemetry"], qos: 1, timestamp: ts}`,
          `rules[0].sinks=[{type: mqtt, url: "${broker.url}", topic: "alerts/\${deviceId}", qos: 1}]`,
        ],
      })
      const sub = await mqtt.connectAsync(broker.url, {reconnectPeriod: 0})
      const alerts: {topic: string; body: Record<string, unknown>}[] = []
      sub.on('message', (topic, payload) => alerts.push({topic, body: JSON.parse(payload.toString()) as Record<string, unknown>}))
      await sub.subscribeAsync('alerts/#', {qos: 1})
      const abort = new AbortController()
      const run = runPipeline({pipeline, signal: abort.signal, warn: () => {}})
      const pub = await mqtt.connectAsync(broker.url, {reconnectPeriod: 0})
      try {
        // Wait until the pipeline's subscription is in place: retry a probe until it produces an alert.
        const t0 = Date.UTC(2026, 0, 5, 8)
        const send = (dev: string, line: string, temperature: number, i: number) =>
          pub.publishAsync(`plant/${line}/${dev}/telemetry`, JSON.stringify({ts: t0 + i * 1000, deviceId: dev, temperature}), {qos: 1})
        for (let i = 0; alerts.length === 0 && i < 50; i++) {
          await send('press-00', 'l1', 99, i)
          await new Promise((ok) => setTimeout(ok, 100))
        }
        const probes = alerts.length
        expect(probes).toBeGreaterThan(0)
        await send('press-00', 'l1', 79.9, 100)
        await send('press-03', 'l2', 84.9, 101)
        await send('press-03', 'l2', 85.5, 102)
        await send('press-42', 'l2', 500, 103)
        await send('press-01', 'l2', 80.1, 104)
        const deadline = Date.now() + 5000
        while (alerts.length < probes + 2 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 50))
        await new Promise((ok) => setTimeout(ok, 300))
        expect(alerts.slice(probes)).toEqual([
          {topic: 'alerts/press-03', body: {deviceId: 'press-03', line: 'l2', temperature: 85.5, threshold: 85, at: '08:01:42'}},
          {topic: 'alerts/press-01', body: {deviceId: 'press-01', line: 'l2', temperature: 80.1, threshold: 80, at: '08:01:44'}},
        ])
      } finally {
        abort.abort()
        const summary = await run
        await pub.endAsync()
        await sub.endAsync()
        await broker.stop()
        expect(summary.stoppedBy).toBe('interrupt')
        expect(summary.sinks[0].written).toBe(alerts.length)
      }
    })
  })
})
