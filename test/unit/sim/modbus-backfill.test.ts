/**
 * Issue #14, acceptance 7: a backfill of the shipped modbus-plant holds its Modbus meters and skids (one row of tag
 * values per update) and their fault labels, beside the MQTT fleet's rows, which the Modbus groups leave unchanged.
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runBackfill} from '../../../src/sim/backfill.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'
import type {AnomalyLabel} from '../../../src/sim/types.js'

const FROM = Date.UTC(2026, 0, 1)
const TO = FROM + 10 * 60_000

interface Row {
  ts: number
  topic: string
  payload: string
}

const readJsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T)

describe('backfill of Modbus groups', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotd-modbus-backfill-'))
  const scenario = loadScenario('scenarios/modbus-plant.yaml')

  it('writes every meter and skid update as a row and their faults as labels', async () => {
    const out = join(dir, 'plant.jsonl')
    const labelsFile = join(dir, 'labels.jsonl')
    const summary = await runBackfill({scenario, devices: expandDevices(scenario), fromMs: FROM, toMs: TO, out, format: 'jsonl', labelsFile})
    expect(summary.modbusDevices).toBe(204)
    expect(summary.devices).toBe(214)

    const rows = readJsonl<Row>(out)
    expect(summary.rows).toBe(rows.length)
    const byTopic = new Map<string, Row[]>()
    for (const r of rows) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r])
    const meters = [...byTopic.keys()].filter((t) => t.startsWith('plant/meters/'))
    const skids = [...byTopic.keys()].filter((t) => t.startsWith('modbus/skid/'))
    const ambient = [...byTopic.keys()].filter((t) => t.startsWith('plant/ambient/'))
    expect(meters).toHaveLength(200)
    expect(skids.sort()).toEqual(['modbus/skid/skid-1', 'modbus/skid/skid-2', 'modbus/skid/skid-3', 'modbus/skid/skid-4'])
    expect(ambient).toHaveLength(10)
    // One row per update: every 1 s for 10 min per meter, every 500 ms per skid; rows are in time order.
    for (const t of meters) expect(byTopic.get(t), t).toHaveLength(600)
    for (const t of skids) expect(byTopic.get(t), t).toHaveLength(1200)
    expect(rows.every((r, i) => i === 0 || r.ts >= rows[i - 1].ts)).toBe(true)
    expect(rows.every((r) => r.ts >= FROM && r.ts < TO)).toBe(true)

    const meter = JSON.parse(byTopic.get(meters[0])![1].payload) as Record<string, unknown>
    expect(Object.keys(meter)).toEqual(['ts', 'deviceId', 'unit', 'voltage', 'current', 'power', 'energy', 'temperature', 'serial', 'breaker_closed'])
    expect(meter.voltage).toBeGreaterThan(220)
    expect(meter.serial).toMatch(/^SN-50\d\d-\d+$/)
    const skid = JSON.parse(byTopic.get('modbus/skid/skid-1')![0].payload) as Record<string, unknown>
    expect(skid).toMatchObject({deviceId: 'skid-1', unit: 1, valve_cmd: 40, flow: 72})

    // Faults: no-response every 2 min from 20 s (5 in 10 min) on its devices; latency by chance. Labels name devices
    // that have rows.
    const labels = readJsonl<AnomalyLabel>(labelsFile)
    expect(summary.labels).toBe(labels.length)
    const noResponse = labels.filter((l) => l.kind === 'modbus-no-response')
    expect(noResponse.length).toBeGreaterThan(0)
    const perDevice = new Map<string, number>()
    for (const l of noResponse) perDevice.set(l.deviceId, (perDevice.get(l.deviceId) ?? 0) + 1)
    for (const [id, n] of perDevice) {
      expect(n, id).toBe(5)
      expect(meters.some((t) => t.endsWith(`/${id}`)), id).toBe(true)
    }
    expect(labels.some((l) => l.kind === 'modbus-latency')).toBe(true)
    expect(labels.some((l) => l.kind === 'modbus-flap' && l.deviceId.startsWith('skid-'))).toBe(true)
  }, 120_000)

  it('leaves the MQTT rows as a backfill without the Modbus groups writes them', async () => {
    const withModbus = join(dir, 'all.csv')
    const without = join(dir, 'mqtt.csv')
    await runBackfill({scenario, devices: expandDevices(scenario), fromMs: FROM, toMs: TO, out: withModbus, format: 'csv'})
    const summary = await runBackfill({scenario, devices: expandDevices(scenario), modbus: false, fromMs: FROM, toMs: TO, out: without, format: 'csv'})
    expect(summary.modbusDevices).toBe(0)
    const ambientRows = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.includes(',plant/ambient/'))
    expect(ambientRows(without)).toHaveLength(1200)
    expect(ambientRows(withModbus)).toEqual(ambientRows(without))
  }, 120_000)
})
