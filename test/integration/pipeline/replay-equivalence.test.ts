/**
 * Acceptance 3: a replayed CSV capture (a finite source, flushed at its end) produces the same windows as the run
 * of the same events live over MQTT, in event time — and the same as the simulation fed in-process.
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'csv-parse/sync'
import mqtt from 'mqtt'
import {expect, it} from 'vitest'
import {runBackfill} from '../../../src/sim/backfill.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'
import {loadPipeline, runPipeline, type LoadedPipeline} from '../../../src/pipeline/index.js'
import {createMemorySink} from '../../../src/pipeline/sinks/memory.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-replay-'))
const SCENARIO = join(process.cwd(), 'scenarios/pipelines/sims/press-line.yaml')
const FROM = Date.UTC(2026, 0, 5, 8)
const RULE = `SELECT deviceId, count(*) AS n, round(avg(temperature), 3) AS t, window_start() AS ws
      FROM telemetry GROUP BY deviceId, TUMBLINGWINDOW(ss, 30)`

function pipelineWith(source: string): LoadedPipeline {
  return loadPipeline(join(dir, 'p.yaml'), {text: `version: 1\nsources:\n  telemetry: ${source}\nrules:\n  - sql: ${RULE}\n`})
}

async function rowsOf(pipeline: LoadedPipeline, signal?: AbortSignal): Promise<unknown[]> {
  const sink = createMemorySink()
  const s = await runPipeline({pipeline, signal, sinksFor: () => [{sink, type: 'memory'}], warn: () => {}})
  expect(s.error).toBeUndefined()
  return sink.rows.map((r) => r.fields).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
}

describeMosquitto('replay equivalence', () => {
  it('capture CSV replay = live MQTT run = in-process simulation, window for window', async () => {
    const capture = join(dir, 'capture.csv')
    const scenario = loadScenario(SCENARIO)
    await runBackfill({scenario, devices: expandDevices(scenario), fromMs: FROM, toMs: FROM + 180_000, out: capture, format: 'csv'})

    const simulated = await rowsOf(pipelineWith(`{type: sim, scenario: ${SCENARIO}, from: ${FROM}, duration: 3m, timestamp: ts}`))
    const replayed = await rowsOf(pipelineWith(`{type: csv, path: ${capture}, timestamp: ts}`))
    expect(simulated.length).toBe(6 * 6)
    expect(replayed).toEqual(simulated)

    const broker = await startMosquitto()
    try {
      const abort = new AbortController()
      const live = rowsOf(pipelineWith(`{type: mqtt, url: "${broker.url}", topics: ["plant/#"], qos: 1, timestamp: ts}`), abort.signal)
      const pub = await mqtt.connectAsync(broker.url, {reconnectPeriod: 0})
      await new Promise((ok) => setTimeout(ok, 500))
      const rows = parse(readFileSync(capture, 'utf8'), {columns: true}) as {topic: string; payload: string}[]
      for (const r of rows) await pub.publishAsync(r.topic, r.payload, {qos: 1})
      await pub.endAsync()
      await new Promise((ok) => setTimeout(ok, 500))
      // Ctrl-C of a live run flushes the open windows (shutdown.openWindows: flush).
      abort.abort()
      expect(await live).toEqual(simulated)
    } finally {
      await broker.stop()
    }
  })
})
