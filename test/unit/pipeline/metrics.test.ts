import {describe, expect, it} from 'vitest'
import {startLiveMetrics} from '../../../src/cli/live-metrics.js'
import {parseListenAddress as parseAddress} from '../../../src/net/text-endpoint.js'
import {prometheusText} from '../../../src/pipeline/metrics-text.js'
import type {PipelineSummary} from '../../../src/pipeline/index.js'

const summary: PipelineSummary = {
  schemaVersion: 1,
  pipeline: 'p"1',
  stoppedBy: 'end-of-input',
  interrupted: false,
  elapsedMs: 1000,
  eventsIn: 42,
  eventsPerSecond: 42,
  sources: [{name: 's', type: 'mqtt', records: 42, deadLettered: 1, futureRejected: 0, ended: false}],
  rules: [{name: 'r', in: 41, filtered: 1, rejected: 0, out: 3, empty: 0, lateDropped: 2, windowsFired: 3, openWindows: 5, futureRejected: 0, mapDropped: 0}],
  sinks: [{name: 'r.postgres', type: 'postgres', rule: 'r', rows: 3, written: 3, batches: 1, retries: 4, deadLettered: 0, dropped: 0, queued: 0, maxQueued: 3, latencyP50Ms: 1.5, latencyP99Ms: null}],
  deadLetter: {count: 1, byStage: {'source:s': 1}},
  droppedAtShutdown: {openWindows: 0, queuedRows: 0},
}

describe('metrics', () => {
  it('renders the summary in the Prometheus text format, escaping labels and leaving out unknown values', () => {
    const text = prometheusText(summary)
    expect(text).toContain('# TYPE iotd_pipeline_rule_open_windows gauge\niotd_pipeline_rule_open_windows{pipeline="p\\"1",rule="r"} 5\n')
    expect(text).toContain('iotd_pipeline_sink_retries_total{pipeline="p\\"1",sink="r.postgres",rule="r",type="postgres"} 4')
    expect(text).toContain('iotd_pipeline_sink_latency_ms{pipeline="p\\"1",sink="r.postgres",quantile="0.5"} 1.5')
    expect(text).not.toContain('quantile="0.99"')
  })

  it('parses listen addresses, loopback by default', () => {
    const parseListenAddress = (text: string) => parseAddress(text, '--metrics')
    expect(parseListenAddress('9464')).toEqual({host: '127.0.0.1', port: 9464})
    expect(parseListenAddress(':0')).toEqual({host: '127.0.0.1', port: 0})
    expect(parseListenAddress('0.0.0.0:9464')).toEqual({host: '0.0.0.0', port: 9464})
    expect(parseListenAddress('[::1]:9464')).toEqual({host: '::1', port: 9464})
    expect(() => parseListenAddress('localhost:99999')).toThrow(/not an address/)
  })

  it('serves GET /metrics on an OS-assigned loopback port, and the final figures for --metrics-hold after the run', async () => {
    const notes: string[] = []
    const endpoint = (await startLiveMetrics({metrics: '127.0.0.1:0', 'metrics-hold': '300ms'}, (m) => notes.push(m)))!
    expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    expect(notes[0]).toBe(`metrics: ${endpoint.url}`)
    endpoint.show(() => prometheusText(summary))
    const res = await fetch(endpoint.url)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('iotd_pipeline_events_in_total{pipeline="p\\"1"} 42')
    expect((await fetch(endpoint.url.replace('/metrics', '/'))).status).toBe(404)
    const t0 = performance.now()
    const finished = endpoint.finish()
    expect((await fetch(endpoint.url)).status).toBe(200)
    await finished
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290)
    await expect(fetch(endpoint.url)).rejects.toThrow()
  })
})
