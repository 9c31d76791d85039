/**
 * A backfill keeps the fleets' MQTT 5 `properties:` as the capture format defines them (docs/capture-format.md), so
 * what the capture reader gives `iotd replay` is what a live run publishes: user properties, expiry, content type,
 * payload format, response topic and correlation data (bytes, written as {"base64": ...}). Before, the CSV had no
 * properties column and JSONL no properties key.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'csv-parse/sync'
import {describe, expect, it} from 'vitest'
import {captureLayoutOf, parseCaptureRow, type CaptureMessage} from '../../../src/capture/index.js'
import {runBackfill} from '../../../src/sim/backfill.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'

const FROM = Date.UTC(2026, 0, 1)
const dir = mkdtempSync(join(tmpdir(), 'iotd-backfill-properties-'))
const file = join(dir, 'props.yaml')
writeFileSync(
  file,
  `version: 1
seed: 3
broker: {protocol: 5}
fleets:
  - name: v5
    count: 2
    topic: "p/{deviceId}"
    every: 1s
    properties:
      userProperties: {site: "s-{index}", schema: "v1"}
      messageExpiry: 90s
      contentType: application/json
      payloadFormat: utf8
      responseTopic: "p/{deviceId}/reply"
      correlationData: "c-{deviceId}"
      topicAlias: true
    fields: {n: {kind: counter}}
  - name: plain
    count: 1
    topic: "q/{deviceId}"
    every: 1s
    fields: {n: {kind: counter}}
`,
)
const scenario = loadScenario(file)

const readCapture = (path: string): CaptureMessage[] => {
  const rows = parse(readFileSync(path, 'utf8')) as string[][]
  const layout = captureLayoutOf(rows[0])!
  return rows.slice(1).map((r) => {
    const m = parseCaptureRow(r, layout)
    if (typeof m === 'string') throw new Error(m)
    return m
  })
}

describe('backfill with MQTT 5 properties', () => {
  it('writes them in the capture format, and the capture reader gives back what a live run publishes', async () => {
    const out = join(dir, 'props.csv')
    await runBackfill({scenario, devices: expandDevices(scenario), fromMs: FROM, toMs: FROM + 3000, out, format: 'csv'})
    expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('ts,topic,qos,retain,encoding,payload,properties')
    const messages = readCapture(out)
    const v5 = messages.filter((m) => m.topic.startsWith('p/'))
    expect(v5).toHaveLength(6)
    for (const m of v5) {
      const id = m.topic.slice(2)
      // A topic alias is no property on the wire (a recorder never sees one), so it is not written.
      expect(m.properties).toEqual({
        userProperties: {site: `s-${id.slice(-1)}`, schema: 'v1'},
        messageExpiryInterval: 90,
        contentType: 'application/json',
        payloadFormatIndicator: true,
        responseTopic: `p/${id}/reply`,
        correlationData: Buffer.from(`c-${id}`),
      })
    }
    const plain = messages.filter((m) => m.topic.startsWith('q/'))
    expect(plain).toHaveLength(3)
    for (const m of plain) expect(m.properties).toBeUndefined()
  })

  it('JSON lines carry them under properties, binary values as {"base64": ...}; a scenario without properties keeps six columns', async () => {
    const out = join(dir, 'props.jsonl')
    await runBackfill({scenario, devices: expandDevices(scenario), fromMs: FROM, toMs: FROM + 1000, out, format: 'jsonl'})
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {topic: string; properties?: Record<string, unknown>})
    const first = lines.find((l) => l.topic === 'p/v5-0000')!
    expect(first.properties).toMatchObject({userProperties: {site: 's-0'}, messageExpiryInterval: 90, correlationData: {base64: Buffer.from('c-v5-0000').toString('base64')}})
    expect(lines.find((l) => l.topic.startsWith('q/'))).not.toHaveProperty('properties')

    const plainOnly = join(dir, 'plain.csv')
    await runBackfill({scenario, devices: expandDevices(scenario, {fleets: ['plain']}), modbus: false, fromMs: FROM, toMs: FROM + 1000, out: plainOnly, format: 'csv'})
    expect(readFileSync(plainOnly, 'utf8').split('\n')[0]).toBe('ts,topic,qos,retain,encoding,payload')
  })
})
