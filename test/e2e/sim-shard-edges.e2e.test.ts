/**
 * Shards at their edges: a shard past the last device is refused with one message by a live run, a backfill and
 * `sim registry` alike (exit 2), a JOB_COMPLETION_INDEX that is set but not a number is named as such, and the shards
 * of a backfill split its Modbus devices as they split the fleets.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {makeSummary} from '../fixtures/report/sim-data.js'
import {runCli} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-shard-edges-'))
const two = join(dir, 'two.yaml')
writeFileSync(two, 'version: 1\nseed: 2\nfleets:\n  - name: a\n    count: 5\n    topic: "t/{deviceId}"\n    every: 1s\n    fields: {v: 1}\n  - name: b\n    count: 7\n    topic: "t/{deviceId}"\n    every: 1s\n    fields: {v: 2}\n')

describe('iotd sim --shard at the edges', () => {
  it('a shard with no devices is refused by a run, a backfill and sim registry with one message, exit 2', async () => {
    const runs = await Promise.all([
      // Nothing listens on port 1: the refusal comes before any connection.
      runCli(['sim', two, '--shard', '15/20', '--broker', 'mqtt://127.0.0.1:1', '--duration', '3s']),
      runCli(['sim', two, '--shard', '15/20', '--backfill', '0..10000', '--out', join(dir, 'e.csv')]),
      runCli(['sim', 'registry', two, '--shard', '15/20']),
    ])
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain('shard 15/20 of a 12-device scenario holds no devices: there are more shards than devices')
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
    const k8s = await runCli(['sim', 'registry', two, '--shards', '3'], {env: {JOB_COMPLETION_INDEX: 'x'}})
    expect(k8s.code).toBe(2)
    expect(k8s.stderr).toContain('JOB_COMPLETION_INDEX "x" is not a whole number')
  })

  it('--dry-run with --shard shows the shard: its devices per fleet and its first device', async () => {
    // Shard 2/3 of 12 devices in order (a-0000..a-0004, b-0000..b-0006): ordinals 1, 4, 7, 10.
    const r = await runCli(['sim', two, '--shard', '2/3', '--dry-run', '--samples', '1'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('(dry run of shard 2/3: nothing was connected)')
    expect(r.stdout).toMatch(/fleet a: 2 devices, [^\n]*\n {2}first device {2}a-0001 /)
    expect(r.stdout).toMatch(/fleet b: 2 devices, [^\n]*\n {2}first device {2}b-0002 /)
    const json = await runCli(['sim', two, '--shard', '2/3', '--dry-run', '--samples', '1', '--json'])
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({shard: {index: 1, count: 3}, fleets: [{fleet: 'a', devices: 2, deviceId: 'a-0001'}, {fleet: 'b', devices: 2, deviceId: 'b-0002'}]})
    const modbus = await runCli(['sim', 'scenarios/modbus-plant.yaml', '--shard', '2/3', '--dry-run'])
    expect(modbus.code).toBe(2)
    expect(modbus.stderr).toContain('--shard splits the MQTT fleets of a scenario')
  })

  it('the shards of a backfill with Modbus groups hold each meter once: their rows and labels together are one backfill\'s', async () => {
    // A shard left the Modbus groups out ("Modbus groups left out by --shard"): three shards of modbus-plant had none
    // of its 204 Modbus devices' rows or fault labels.
    const range = '2026-01-01T00:00:00Z..2026-01-01T00:01:00Z'
    const backfill = async (name: string, shard?: string) => {
      const out = join(dir, `${name}.csv`)
      const labels = join(dir, `${name}.labels.jsonl`)
      const r = await runCli(['sim', 'scenarios/modbus-plant.yaml', '--backfill', range, '--out', out, '--labels', labels, ...(shard ? ['--shard', shard] : [])])
      expect(r.code, r.stderr).toBe(0)
      return {stdout: r.stdout, rows: readFileSync(out, 'utf8').trim().split('\n').slice(1), labels: readFileSync(labels, 'utf8').trim().split('\n')}
    }
    const whole = await backfill('whole')
    const shards = await Promise.all(['1/3', '2/3', '3/3'].map((s, i) => backfill(`part${i + 1}`, s)))
    expect(whole.stdout).toContain('(204 of them Modbus)')
    expect(shards.map((p) => p.stdout.match(/\((\d+) of them Modbus\)/)?.[1])).toEqual(['68', '68', '68'])
    expect(shards.flatMap((p) => p.rows).sort()).toEqual([...whole.rows].sort())
    expect(shards.flatMap((p) => p.labels).sort()).toEqual([...whole.labels].sort())
    expect(whole.labels.length).toBeGreaterThan(0)
  })

  it('a backfill shard past the fleets\' devices but within the Modbus devices holds meters; past both it is refused', async () => {
    // modbus-plant has 10 fleet devices and 204 meters. Shard 11/12 was refused ("of a 10-device scenario holds no
    // devices") although it holds 17 meters, while shard 1/300 ran.
    const range = '2026-01-01T00:00:00Z..2026-01-01T00:01:00Z'
    const out = join(dir, 'meters.csv')
    const meters = await runCli(['sim', 'scenarios/modbus-plant.yaml', '--backfill', range, '--out', out, '--shard', '11/12'])
    expect(meters.code, meters.stderr).toBe(0)
    expect(meters.stdout).toContain('from 17 devices (17 of them Modbus)')
    expect(readFileSync(out, 'utf8').trim().split('\n').length).toBeGreaterThan(17)
    const past = await runCli(['sim', 'scenarios/modbus-plant.yaml', '--backfill', range, '--out', join(dir, 'none.csv'), '--shard', '205/205'])
    expect(past.code).toBe(2)
    expect(past.stderr).toContain('shard 205/205 of a scenario of 10 fleet devices and 204 Modbus devices holds no devices')
    expect(past.stderr).toContain('split it into at most 204 shards')
  })

  it('sim merge with a shard missing prints the figures and the warning, never "all connected", and exits 1', async () => {
    const files = [0, 1, 2].map((index) => {
      const s = makeSummary()
      const fleets = s.fleets.map((f) => ({...f, late: 0}))
      const file = join(dir, `sh${index + 1}.json`)
      writeFileSync(file, JSON.stringify({...s, fleets, totals: {...s.totals, late: 0}, shard: {index, count: 3}, definition: {fingerprint: '0123456789abcdef', devices: 252}}))
      return file
    })
    const partial = await runCli(['sim', 'merge', files[0], files[1]])
    expect(partial.code).toBe(1)
    expect(partial.stdout).toContain('⚠ shard 3/3 missing: the figures are those of 2 of 3 shards')
    expect(partial.stdout).toMatch(/total +168\/168 +3,360/)
    expect(partial.stdout).not.toContain('✓')
    expect(partial.stdout).not.toMatch(/all \d+ (devices )?connected/)
    // Each shard timed its own connects: the merge knows the slowest shard's figure, not the fleet's.
    expect(partial.stdout).toContain('the 168 devices of 2 of 3 shards connected, each shard within 210ms of its own first connect')
    expect(partial.stderr).toContain('1 of 3 shards missing: the merged figures above are not the whole run')
    const json = await runCli(['sim', 'merge', files[0], files[1], '--json'])
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({devices: 168, mergedShards: {merged: 2, of: 3}})
    // All three: the whole run, exit 0.
    const whole = await runCli(['sim', 'merge', ...files])
    expect(whole.code, whole.stderr).toBe(0)
    expect(whole.stdout).toContain('✓ all 252 devices connected')
  })
})

describe('shard.index in --json', () => {
  it('counts from 0 in every sim --json, as JOB_COMPLETION_INDEX and bench\'s result do, and the help says so', async () => {
    // --shard 2/3 is {index: 1} while every text says "shard 2/3": the convention was written nowhere a user of
    // sim's --json reads it. It is bench's (bench-result.ts) and the Indexed Job's, so it stays and is documented.
    const [backfill, registry, k8s, help, registryHelp] = await Promise.all([
      runCli(['sim', two, '--shard', '2/3', '--backfill', '0..10000', '--out', join(dir, 'idx.csv'), '--json']),
      runCli(['sim', 'registry', two, '--shard', '2/3', '--out', join(dir, 'idx-registry.csv'), '--json']),
      runCli(['sim', 'registry', two, '--shards', '3', '--out', join(dir, 'idx-k8s.csv'), '--json'], {env: {JOB_COMPLETION_INDEX: '1'}}),
      runCli(['sim', '--help']),
      runCli(['sim', 'registry', '--help']),
    ])
    for (const r of [backfill, registry, k8s]) {
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({shard: {index: 1, count: 3}})
    }
    const bench = JSON.parse(readFileSync('schemas/bench-result.schema.json', 'utf8')) as {properties: {meta: {properties: {shard: {description: string}}}}}
    expect(bench.properties.meta.properties.shard.description).toContain('index counts from 0')
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('In --json, `shard.index` counts from 0 as JOB_COMPLETION_INDEX does and bench\'s result does (--shard 2/3 is {"index": 1, "count": 3})')
    expect(registryHelp.stdout.replace(/\s+/g, ' ')).toContain('its index from 0, as in iotd sim\'s --json summary')
  })
})

describe('--shard beside --shards', () => {
  it('two different shards (flags or environment) are refused by a run, a backfill and sim registry; the same shard twice is fine', async () => {
    // --shard won silently: --shards 2 with JOB_COMPLETION_INDEX 0 beside --shard 2/3 ran shard 2/3 with exit 0.
    const conflicting = await Promise.all([
      runCli(['sim', two, '--shards', '2', '--shard', '2/3', '--backfill', '0..10000', '--out', join(dir, 'c.csv')], {env: {JOB_COMPLETION_INDEX: '0'}}),
      runCli(['sim', 'registry', two], {env: {IOTD_SHARD: '2/3', IOTD_SHARDS: '2', JOB_COMPLETION_INDEX: '0'}}),
      runCli(['sim', two, '--shard', '1/3', '--shards', '3', '--broker', 'mqtt://127.0.0.1:1', '--duration', '3s'], {env: {JOB_COMPLETION_INDEX: '2'}}),
      runCli(['sim', 'registry', two, '--shard', '1/3', '--shards', '2']),
    ])
    for (const r of conflicting) {
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(/--shard \d\/3 and --shards \d[^\n]* name different shards/)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
    expect(conflicting[0].stderr).toContain('--shard 2/3 and --shards 2 with JOB_COMPLETION_INDEX 0 (shard 1/2) name different shards')
    const agreeing = await runCli(['sim', 'registry', two, '--shard', '3/3', '--shards', '3'], {env: {JOB_COMPLETION_INDEX: '2'}})
    expect(agreeing.code, agreeing.stderr).toBe(0)
    expect(agreeing.stdout.trim().split('\n')).toHaveLength(1 + 4)
  })
})
