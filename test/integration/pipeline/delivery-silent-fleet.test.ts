/**
 * Issue #12, acceptance 7, with the shipped example scenarios/pipelines/silent-fleet.yaml: four of six registered
 * vans report for a few seconds and then the whole fleet goes quiet. With `idleTimeout: 5s` event time moves on,
 * the open session windows close and every silent van is reported; the two registered vans that never reported are
 * reported too (0 readings).
 */
import {join} from 'node:path'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import mqtt from 'mqtt'
import {expect, it} from 'vitest'
import {ROOT, startCli} from '../../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

describeMosquitto('delivery: a silent fleet is reported (issue #12 acceptance 7)', () => {
  it('silent-fleet.yaml: every van that went quiet and every registered van that never reported', {timeout: 90_000}, async () => {
    // mosquitto logs each SUBSCRIBE, so the test can wait for the pipeline's own subscription.
    const broker = await startMosquitto({extraConfig: ['log_type subscribe']})
    const stateDir = join(mkdtempSync(join(tmpdir(), 'iotd-delivery-silent-')), 'state')
    const run = startCli(['pipeline', 'run', join(ROOT, 'scenarios/pipelines/silent-fleet.yaml'), '--quiet', '--state-dir', stateDir], {env: {IOTD_BROKER: broker.url}})
    const rows = () =>
      run
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as {deviceId: string; readings: number})
    try {
      // Subscribed, not only connected: QoS 1 readings published before the SUBSCRIBE reach no subscriber and the
      // broker drops them (a CI run once saw 12 of a van's 15 readings).
      await expect.poll(() => broker.log().includes('fleet/+/telemetry'), {timeout: 20_000, interval: 100}).toBe(true)
      const pub = await mqtt.connectAsync(broker.url)
      const reporting = ['van-01', 'van-02', 'van-03', 'van-04']
      for (let i = 0; i < 15; i++) {
        for (const van of reporting) await pub.publishAsync(`fleet/${van}/telemetry`, JSON.stringify({deviceId: van, ts: Date.now(), temp: 4 + i / 10}), {qos: 1})
        await new Promise((ok) => setTimeout(ok, 200))
      }
      await pub.endAsync()
      // Nothing arrives any more: without idleTimeout event time would stand still and nothing would fire.
      await expect.poll(() => rows().length, {timeout: 45_000, interval: 250}).toBe(6)
      const byVan = new Map(rows().map((r) => [r.deviceId, r.readings]))
      for (const van of reporting) expect(byVan.get(van), van).toBe(15)
      expect(byVan.get('van-05')).toBe(0)
      expect(byVan.get('van-06')).toBe(0)
    } finally {
      run.child.kill('SIGINT')
      await run.exited
      await broker.stop()
    }
  })
})
