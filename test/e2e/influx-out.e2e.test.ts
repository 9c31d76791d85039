/**
 * `--out influxdb=URL` on sim and bench against a private influxd: one point per second while the run goes on, and
 * the last point's counters equal the run's summary (bench: the sends of the measured window so far).
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {influxdBinary, startInfluxd, type Influxd} from '../helpers/influxd.js'
import {startMosquitto, stopAllMosquittos, type Mosquitto} from '../helpers/mosquitto.js'
import {describeWithBinary} from '../helpers/needs-binary.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-sinks-influxout-'))

describeWithBinary('--out influxdb=URL on sim and bench', {name: 'influxd', path: influxdBinary(), install: 'apt-get install influxdb'}, () => {
  let influx: Influxd
  let broker: Mosquitto
  beforeAll(async () => {
    influx = await startInfluxd()
    broker = await startMosquitto()
  })
  afterAll(async () => {
    await influx?.stop()
    await stopAllMosquittos()
  })

  it('sim writes a point per fleet and second; the last one holds the summary\'s totals', {timeout: 60_000}, async () => {
    writeFileSync(
      join(dir, 'sim.yaml'),
      `version: 1
name: sinks-out
seed: 5
fleets:
  - {name: meter, count: 4, id: "m-{index}", topic: "sinks/out/{deviceId}", every: 100ms, fields: {v: {kind: uniform, min: 0, max: 1}}}
`,
    )
    const r = await runCli(['sim', join(dir, 'sim.yaml'), '--broker', broker.url, '--duration', '3s', '--json', '--out', `influxdb=${influx.url}/sinks_out`])
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout) as {totals: {published: number}}
    const rows = await influx.query('sinks_out', 'SELECT "messages_published_total", "devices_connected" FROM "iotd_sim" WHERE "fleet" = \'meter\'')
    expect(rows.length).toBeGreaterThanOrEqual(2)
    const last = rows.at(-1)!
    expect(last[1]).toBe(summary.totals.published)
    expect(last[2]).toBe(4)
  })

  it('bench writes its per-second figures beside the result file, and refuses credentials in the URL', {timeout: 60_000}, async () => {
    const out = join(dir, 'bench.json')
    const r = await runCli(['bench', '--broker', broker.url, '--rate', '1000/s', '--duration', '3s', '--warmup', '0s', '--topic', 'sinks/outbench/%i', '--quiet', '--out', out, '--out', `influxdb=${influx.url}/sinks_bench`])
    expect([0, 99], r.stderr).toContain(r.code)
    const rows = await influx.query('sinks_bench', 'SELECT "messages_sent_total", "sent_per_second" FROM "iotd_bench"')
    expect(rows.length).toBeGreaterThanOrEqual(2)
    expect(rows.at(-1)![1]).toBeGreaterThan(1000)
    const bad = await runCli(['bench', '--broker', broker.url, '--duration', '1s', '--out', 'influxdb=http://u:secret@127.0.0.1:1/x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/no credentials in the URL/)
    expect(bad.stderr).not.toMatch(/secret/)
  })
})
