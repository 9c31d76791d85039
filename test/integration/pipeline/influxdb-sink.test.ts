/**
 * The InfluxDB sink against a real influxd (Debian's influxdb 1.6) started by the suite on OS-assigned ports:
 * a simulated fleet through a pipeline stores exactly the rows the pipeline says it wrote; a batch InfluxDB refuses
 * in part dead-letters exactly the bad rows; influxd stopped for 30 s in the middle of a run and restarted loses
 * nothing.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {loadPipeline, runPipeline} from '../../../src/pipeline/index.js'
import {influxdBinary, startInfluxd, type Influxd} from '../../helpers/influxd.js'
import {describeWithBinary} from '../../helpers/needs-binary.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-sinks-influx-'))

function scenario(file: string, devices: number, every: string): void {
  writeFileSync(
    join(dir, file),
    `version: 1
name: sinks-influx
seed: 7
duration: 1h
fleets:
  - name: meter
    count: ${devices}
    id: "meter-{index:03}"
    topic: "plant/{deviceId}/telemetry"
    every: ${every}
    fields:
      ts: {kind: timestamp, format: epoch-ms}
      deviceId: "{deviceId}"
      temp: {kind: gaussian, mean: 20, stddev: 2, resolution: 0.01}
      state: {kind: step, levels: [run, idle], every: 5s}
`,
  )
}

describeWithBinary('influxdb sink', {name: 'influxd', path: influxdBinary(), install: 'apt-get install influxdb'}, () => {
  let influx: Influxd
  beforeAll(async () => {
    influx = await startInfluxd()
  })
  afterAll(async () => {
    await influx?.stop()
  })

  it('sim -> pipeline -> InfluxDB: SELECT count(*) equals the rows the pipeline wrote', async () => {
    scenario('count.yaml', 20, '1s')
    const file = join(dir, 'count-pipeline.yaml')
    writeFileSync(
      file,
      `version: 1
sources:
  plant: {type: sim, scenario: count.yaml, duration: 10m, timestamp: ts}
rules:
  - name: store
    sql: SELECT deviceId, temp, state FROM plant
    sinks:
      - type: influxdb
        url: ${influx.url}
        database: sinks_count
        createDatabase: true
        measurement: meter
        tags: [deviceId]
        precision: ms
`,
    )
    const summary = await runPipeline({pipeline: loadPipeline(file), warn: () => {}})
    expect(summary.error).toBeUndefined()
    expect(summary.eventsIn).toBe(20 * 600)
    expect(summary.sinks[0].written).toBe(20 * 600)
    expect(summary.sinks[0].deadLettered).toBe(0)
    expect(await influx.count('sinks_count', 'meter', 'temp')).toBe(summary.sinks[0].written)
    expect(await influx.count('sinks_count', 'meter', 'state')).toBe(summary.sinks[0].written)
    // Tags are tags (indexed), fields are fields.
    const tags = await influx.query('sinks_count', 'SHOW TAG VALUES FROM meter WITH KEY = "deviceId"')
    expect(tags).toHaveLength(20)
  })

  it('a partial write dead-letters exactly the bad rows and stores the rest', async () => {
    // temp is a float in this measurement: rows whose temp is a string conflict with it (InfluxDB: partial write).
    await influx.query('_internal', 'CREATE DATABASE sinks_partial')
    const seed = await fetch(`${influx.url}/write?db=sinks_partial&precision=ms`, {method: 'POST', body: 'reading,deviceId=seed temp=1 1700000000000\n'})
    expect(seed.status).toBe(204)
    const rows = Array.from({length: 60}, (_, i) => ({id: i, deviceId: `d${i % 4}`, ts: 1_700_000_001_000 + i, temp: i === 13 || i === 41 ? 'hot' : 20 + i / 10}))
    rows[50] = {id: 50, deviceId: 'd2', ts: 1_700_000_001_050} as (typeof rows)[number] // no field at all: refused by the sink itself
    writeFileSync(join(dir, 'partial.jsonl'), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`)
    const file = join(dir, 'partial.yaml')
    writeFileSync(
      file,
      `version: 1
sources:
  feed: {type: file, path: partial.jsonl, timestamp: ts}
deadLetter: partial-dead.jsonl
rules:
  - name: store
    sql: SELECT deviceId, temp FROM feed
    sinks:
      - type: influxdb
        url: ${influx.url}
        database: sinks_partial
        measurement: reading
        tags: [deviceId]
        batch: {count: 100, interval: 50ms}
`,
    )
    const summary = await runPipeline({pipeline: loadPipeline(file), warn: () => {}})
    expect(summary.sinks[0].written).toBe(57)
    expect(summary.sinks[0].deadLettered).toBe(3)
    const dead = readFileSync(join(dir, 'partial-dead.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as {stage: string; reason: string; record: {ts: number}})
    expect(dead.map((d) => d.record.ts - 1_700_000_001_000).sort((a, b) => a - b)).toEqual([13, 41, 50])
    expect(dead.every((d) => d.stage === 'sink:store.influxdb')).toBe(true)
    expect(dead.find((d) => d.record.ts === 1_700_000_001_013)?.reason).toMatch(/field type conflict/)
    expect(dead.find((d) => d.record.ts === 1_700_000_001_050)?.reason).toMatch(/no field has a value/)
    // 57 good rows + the seed point; the good rows of the refused batch were written once more and stored once.
    expect(await influx.count('sinks_partial', 'reading', 'temp')).toBe(58)
  })

  it('influxd stopped for 30 s in the middle of a run and restarted: nothing is lost', {timeout: 120_000}, async () => {
    scenario('outage.yaml', 10, '100ms')
    const file = join(dir, 'outage-pipeline.yaml')
    writeFileSync(
      file,
      `version: 1
sources:
  plant: {type: sim, scenario: outage.yaml, duration: 40s, clock: real, timestamp: ts}
rules:
  - name: store
    sql: SELECT deviceId, temp FROM plant
    sinks:
      - type: influxdb
        url: ${influx.url}
        database: sinks_outage
        createDatabase: true
        measurement: meter
        tags: [deviceId]
        batch: {count: 500, interval: 200ms}
        retry: {max: 2s}  # attempts: forever, the default
`,
    )
    const warnings: string[] = []
    const run = runPipeline({pipeline: loadPipeline(file), warn: (m) => warnings.push(m)})
    await expect.poll(() => influx.count('sinks_outage', 'meter', 'temp'), {timeout: 20_000, interval: 200}).toBeGreaterThan(0)
    await influx.halt()
    const haltedAt = Date.now()
    await new Promise((r) => setTimeout(r, 30_000))
    await influx.start()
    const summary = await run
    expect(Date.now() - haltedAt).toBeGreaterThanOrEqual(30_000)
    expect(summary.error).toBeUndefined()
    expect(summary.sinks[0].retries).toBeGreaterThan(0)
    expect(warnings.join('\n')).toMatch(/retrying with backoff/)
    expect(summary.sinks[0].deadLettered).toBe(0)
    expect(summary.sinks[0].written).toBe(summary.eventsIn)
    expect(summary.eventsIn).toBe(10 * 400)
    expect(await influx.count('sinks_outage', 'meter', 'temp')).toBe(summary.eventsIn)
  })
})
