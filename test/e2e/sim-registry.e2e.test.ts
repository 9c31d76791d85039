/**
 * Issue #14, acceptance 6 (and the CLI side of 5): `iotd sim registry` writes the device table the shipped pipeline
 * examples join — scenarios/pipelines/data/devices.csv is exactly its output for sims/press-line.yaml, and the
 * overheat-alerts pipeline's alerts carry each device's line and limit from it. `sim lint` says how many devices each
 * anomaly selects.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'csv-parse/sync'
import {describe, expect, it} from 'vitest'
import {createDeviceModel} from '../../src/sim/generators/index.js'
import {expandDevices, loadScenario} from '../../src/sim/scenario/index.js'
import {runCli} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-registry-'))

describe('iotd sim registry', () => {
  it('is the device table the shipped pipeline joins: data/devices.csv is its output, and the alerts carry its columns', async () => {
    const out = join(dir, 'devices.csv')
    const r = await runCli(['sim', 'registry', 'scenarios/pipelines/sims/press-line.yaml', '--out', out])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain(`6 devices -> ${out}`)
    const generated = readFileSync(out, 'utf8')
    expect(generated).toBe(readFileSync('scenarios/pipelines/data/devices.csv', 'utf8'))
    const rows = parse(generated, {columns: true}) as Array<Record<string, string>>
    expect(Object.keys(rows[0])).toEqual(['deviceId', 'fleet', 'index', 'protocol', 'clientId', 'topic', 'line', 'site', 'maxTemp', 'firmware', 'serial'])
    expect(rows.map((d) => `${d.deviceId} ${d.line} ${d.maxTemp}`)).toEqual(['press-00 l1 80', 'press-01 l2 80', 'press-02 l1 80', 'press-03 l2 85', 'press-04 l1 85', 'press-05 l2 85'])
    expect(rows.every((d) => d.topic === `plant/${d.line}/${d.deviceId}/telemetry` && /^4\.[23]\.\d$/.test(d.firmware) && /^[0-9a-f-]{36}$/.test(d.serial))).toBe(true)

    // The pipeline joins it: every alert names the device's line and its own limit from the registry.
    const byId = new Map(rows.map((d) => [d.deviceId, d]))
    const p = await runCli(['pipeline', 'run', 'scenarios/pipelines/overheat-alerts.yaml', '--quiet'])
    expect(p.code, p.stderr).toBe(0)
    const alerts = p.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/))
    expect(alerts.length).toBeGreaterThan(5)
    for (const [deviceId, line, temperature, threshold] of alerts) {
      expect(byId.get(deviceId), deviceId).toBeDefined()
      expect(line).toBe(byId.get(deviceId)!.line)
      expect(threshold).toBe(byId.get(deviceId)!.maxTemp)
      expect(Number(temperature)).toBeGreaterThan(Number(threshold))
    }
  })

  it('JSON lines on stdout keep the params typed; the same seed gives the same table; Modbus devices are listed', async () => {
    const a = await runCli(['sim', 'registry', 'scenarios/modbus-plant.yaml', '--format', 'jsonl'])
    expect(a.code, a.stderr).toBe(0)
    const b = await runCli(['sim', 'registry', 'scenarios/modbus-plant.yaml', '--format', 'jsonl'])
    expect(b.stdout).toBe(a.stdout)
    const rows = a.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(rows).toHaveLength(214)
    expect(rows.filter((d) => d.protocol === 'modbus')).toHaveLength(204)
    expect(rows.find((d) => d.deviceId === 'meter-5020-01')).toMatchObject({fleet: 'meter', protocol: 'modbus', topic: 'plant/meters/meter-5020-01', unit: '1', port: '5020', host: '127.0.0.1'})
    expect(rows.find((d) => d.deviceId === 'skid-1')).toMatchObject({topic: 'modbus/skid/skid-1'})

    const scenario = join(dir, 'typed.yaml')
    writeFileSync(scenario, 'version: 1\nseed: 3\nfleets:\n  - name: s\n    count: 2\n    params: {offset: {kind: uniform, min: -1, max: 1, resolution: 0.01}}\n    topic: "t/{deviceId}"\n    every: 1s\n    fields: {v: 1}\n')
    const typed = await runCli(['sim', 'registry', scenario, '--format', 'jsonl'])
    expect(typed.code, typed.stderr).toBe(0)
    const [first] = typed.stdout.trim().split('\n').map((l) => JSON.parse(l) as {offset: unknown})
    expect(typeof first.offset).toBe('number')
    const bad = await runCli(['sim', 'registry', scenario, '--out', join(dir, 'devices.txt')])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('name a .csv or .jsonl file')
  })

  it('sim lint and --dry-run say how many devices each anomaly and fault selects', async () => {
    const r = await runCli(['sim', 'lint', 'scenarios/smart-factory.yaml'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('cnc.anomalies[0] drift on spindleLoad: 2 of 18 devices')
    expect(r.stdout).toContain('compressor.anomalies[0] out-of-range on pressure: 1 of 6 devices')
    const dry = await runCli(['sim', 'scenarios/smart-factory.yaml', '--dry-run', '--samples', '1'])
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toMatch(/fleet cnc: 18 devices[^]*\n {2}anomaly +drift on spindleLoad: 2 of 18 devices\n/)
    const m = await runCli(['sim', 'lint', 'scenarios/modbus-plant.yaml', '--json'])
    const json = JSON.parse(m.stdout) as {anomalies: Array<{group: string; list: string; kind: string; devices: number; of: number}>}
    expect(json.anomalies.find((a) => a.group === 'skid' && a.kind === 'flap')).toMatchObject({list: 'faults', devices: 1, of: 4})
  })

  it('a table it wrote reads back as it was: text that looks like a number stays text (CSV and JSON lines)', async () => {
    const scenario = (extra: string) => `version: 1\nseed: 5\nfleets:\n  - name: q\n    count: 30\n${extra}    topic: "t/{deviceId}"\n    every: 1s\n    fields:\n      tag: "{params.tag}"\n`
    // on is a boolean: JSON lines read it back as true, not as the text "true" (which wrote "on":"true" again).
    writeFileSync(join(dir, 'q.yaml'), scenario(`    params: {tag: {kind: pick, values: ['a,b', 'say "hi"', '007', 'true', '1e3']}, on: {kind: pick, values: [true, false]}}\n`))
    const payloads = (file: string) => {
      const s = loadScenario(join(dir, file))
      return expandDevices(s).map((d) => createDeviceModel(s, d).sample(0, 0).payload)
    }
    const original = payloads('q.yaml')
    expect(original).toContain('{"tag":"007"}')
    expect(original).toContain('{"tag":"1e3"}')
    for (const table of ['q.csv', 'q.jsonl']) {
      const r = await runCli(['sim', 'registry', join(dir, 'q.yaml'), '--out', join(dir, table)])
      expect(r.code, r.stderr).toBe(0)
      const copy = `copy-${table}.yaml`
      writeFileSync(join(dir, copy), scenario(`    registry: ${table}\n`))
      expect(payloads(copy), table).toEqual(original)
      // And written again from the copy, the table is byte-identical.
      const again = await runCli(['sim', 'registry', join(dir, copy), '--format', table.endsWith('.csv') ? 'csv' : 'jsonl'])
      expect(again.code, again.stderr).toBe(0)
      expect(again.stdout.replaceAll('copy-', ''), table).toBe(readFileSync(join(dir, table), 'utf8').replaceAll('copy-', ''))
    }
    // A hand-written CSV: a number only where the cell is the number's own text; numeric columns still work as numbers.
    writeFileSync(join(dir, 'hand.csv'), 'tag,base\n1e3,1.5\n" 42 ",2\n-0,3\n')
    writeFileSync(join(dir, 'hand.yaml'), 'version: 1\nseed: 5\nfleets:\n  - name: h\n    count: 3\n    registry: hand.csv\n    topic: "t/{deviceId}"\n    every: 1s\n    fields:\n      tag: "{params.tag}"\n      v: {kind: walk, mean: "{params.base}", theta: 1, sigma: 0, resolution: 0.01}\n')
    const hand = loadScenario(join(dir, 'hand.yaml'))
    expect(expandDevices(hand).map((d) => createDeviceModel(hand, d).sample(0, 0).payload)).toEqual(['{"tag":"1e3","v":1.5}', '{"tag":" 42 ","v":2}', '{"tag":"-0","v":3}'])
  })

  it('--shard splits the Modbus devices as a backfill shard does: the shards\' tables together are the whole one, none twice', async () => {
    // It refused ("--shard splits the MQTT fleets of a scenario") while `iotd sim --backfill --shard` of the same
    // scenario split its 204 meters 68 to a shard: a shard's pipeline had no table for the devices its backfill held.
    const table = async (shard?: string) => {
      const r = await runCli(['sim', 'registry', 'scenarios/modbus-plant.yaml', '--format', 'jsonl', ...(shard ? ['--shard', shard] : [])])
      expect(r.code, r.stderr).toBe(0)
      return r.stdout.trim().split('\n')
    }
    const [whole, ...shards] = await Promise.all([table(), table('1/3'), table('2/3'), table('3/3')])
    expect(whole).toHaveLength(214)
    const union = shards.flat()
    expect(union.toSorted()).toEqual(whole.toSorted())
    const ids = union.map((l) => (JSON.parse(l) as {deviceId: string}).deviceId)
    expect(new Set(ids).size).toBe(ids.length)
    // 68 meters each, as each backfill shard holds ("(68 of them Modbus)"), and the same ones.
    const modbusIds = (lines: string[]) => lines.map((l) => JSON.parse(l) as {deviceId: string; protocol: string}).filter((d) => d.protocol === 'modbus').map((d) => d.deviceId)
    expect(shards.map((s) => modbusIds(s).length)).toEqual([68, 68, 68])
    const out = join(dir, 'modbus-shard-2.csv')
    const backfill = await runCli(['sim', 'scenarios/modbus-plant.yaml', '--backfill', '2026-01-01T00:00:00Z..2026-01-01T00:00:10Z', '--out', out, '--shard', '2/3'])
    expect(backfill.code, backfill.stderr).toBe(0)
    const topicsOf = (lines: string[]) => new Set(lines.map((l) => JSON.parse(l) as {topic: string; protocol: string}).filter((d) => d.protocol === 'modbus').map((d) => d.topic))
    const meterTopics = topicsOf(whole)
    const backfilled = new Set((parse(readFileSync(out, 'utf8'), {columns: true}) as Array<{topic: string}>).map((r) => r.topic).filter((t) => meterTopics.has(t)))
    expect([...backfilled].sort()).toEqual([...topicsOf(shards[1])].sort())
    // A shard past the fleets' 10 devices holds meters; past both it is refused as the backfill refuses it.
    expect(await table('11/12')).toHaveLength(17)
    const past = await runCli(['sim', 'registry', 'scenarios/modbus-plant.yaml', '--shard', '205/205'])
    expect(past.code).toBe(2)
    expect(past.stderr).toContain('shard 205/205 of a scenario of 10 fleet devices and 204 Modbus devices holds no devices')
  })
})
