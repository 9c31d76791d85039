import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {freePort} from '../helpers/ports.js'

const ESC = '\u001b['

describe('iotd sim, run as a user runs it', () => {
  it('--dry-run prints sample payloads per fleet without connecting', async () => {
    const r = await runCli(['sim', 'scenarios/smart-factory.yaml', '--dry-run', '--samples', '2', '--seed', '7'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('seed 7')
    expect(r.stdout).toMatch(/fleet press: 24 devices/)
    expect(r.stdout).toMatch(/acme\/berlin\/stamping\/l1\/press-berlin-000\/telemetry/)
    const json = await runCli(['sim', 'scenarios/cold-chain.yaml', '--dry-run', '--samples', '3', '--json'])
    const parsed = JSON.parse(json.stdout)
    expect(parsed.schemaVersion).toBe(1)
    expect(parsed.fleets[0].payloads).toHaveLength(3)
    expect(JSON.parse(parsed.fleets[0].payloads[0])).toBeTypeOf('object')
  })

  it('--dry-run shows the Modbus groups too: where they listen, their tags, and the first device\'s values', async () => {
    const r = await runCli(['sim', 'scenarios/modbus-plant.yaml', '--dry-run', '--samples', '3'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('modbus meter: 200 devices on 127.0.0.1:5020–5023, unit ids 1–50, every 1s')
    expect(r.stdout).toMatch(/tags +voltage 30001 float32 V · current 30003 float32 A/)
    expect(r.stdout).toContain('modbus skid: 4 devices on 127.0.0.1:5030, unit ids 1–4, every 500ms')
    const json = await runCli(['sim', 'scenarios/modbus-plant.yaml', '--dry-run', '--samples', '3', '--json'])
    const parsed = JSON.parse(json.stdout)
    const skid = parsed.modbus.find((g: {group: string}) => g.group === 'skid')
    expect(skid.values).toHaveLength(3)
    // flow is derived from the valve setpoint (valve_cmd * 1.8), as a client would read it.
    for (const v of skid.values) expect(v.flow).toBeCloseTo(v.valve_cmd * 1.8, 2)
    expect(parsed.fleets[0].fleet).toBe('ambient')
  })

  it('--dry-run shows the Sparkplug groups: topics, the primary host, typed metrics and the first device\'s values', async () => {
    const r = await runCli(['sim', 'scenarios/sparkplug-plant.yaml', '--dry-run', '--samples', '3'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('sparkplug press: group plant1, 5 edge nodes × 4 devices (20), every 1s')
    expect(r.stdout).toContain('spBv1.0/plant1/DDATA/edge-00/press-1')
    expect(r.stdout).toContain('primary host  scada: publishes only while spBv1.0/STATE/scada says online')
    expect(r.stdout).toMatch(/metrics +Temperature Float °C ±0\.2 · Pressure Double bar ±0\.05 · Strokes UInt64/)
    const json = await runCli(['sim', 'scenarios/sparkplug-plant.yaml', '--dry-run', '--samples', '3', '--json'])
    const press = JSON.parse(json.stdout).sparkplug[0]
    expect(press.values).toHaveLength(3)
    // Strokes is a UInt64 counter, one step per sample (a number while it is exact, text beyond 2^53).
    expect(press.values.map((v: {Strokes: number}) => v.Strokes)).toEqual([100000, 100001, 100002])
    expect(press.metrics.find((m: {name: string}) => m.name === 'Setpoint')).toMatchObject({type: 'Double', writable: true})
  })

  it('runs on the embedded broker when none answers, with plain progress lines when piped and a summary on stdout', async () => {
    const port = await freePort()
    const r = await runCli(['sim', 'scenarios/smart-building.yaml', '--duration', '4s', '--seed', '1'], {
      env: {IOTD_DEFAULT_BROKER: `mqtt://127.0.0.1:${port}`},
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/embedded broker/)
    expect(r.stderr).toMatch(/^sim \d/m)
    expect(r.stderr).not.toContain(ESC)
    expect(r.stdout).not.toContain(ESC)
    expect(r.stdout).toMatch(/iotd sim\s+smart-building\s+seed 1/)
    expect(r.stdout).toMatch(/publish lag/)
  })

  it('an MQTT 5 scenario with no broker named is refused up front: the embedded broker speaks 3.1.1 only', async () => {
    const port = await freePort()
    const started = Date.now()
    const r = await runCli(['sim', 'scenarios/hvac-commands.yaml', '--duration', '30s'], {env: {IOTD_DEFAULT_BROKER: `mqtt://127.0.0.1:${port}`}, timeoutMs: 60_000})
    // It retried for the whole run (98 connect errors in 3 s) and ended "no device ever connected ... check the broker
    // address, --source-ip, credentials and TLS flags" with exit 1.
    expect(r.code, r.stderr).toBe(2)
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(r.stderr).toContain('the scenario asks for MQTT 5 (broker: {protocol: 5})')
    expect(r.stderr).toContain('speaks MQTT 3.1.1 only')
    expect(r.stderr).toContain('--broker mqtt://127.0.0.1:1883')
    expect(r.stderr).not.toMatch(/no device ever connected|\n\s+at /)
    expect(r.stdout).toBe('')
  })

  it('--json prints one versioned summary with the effective seed; Ctrl-C prints the partial summary and exits 130', async () => {
    const port = await freePort()
    const env = {IOTD_DEFAULT_BROKER: `mqtt://127.0.0.1:${port}`}
    const r = await runCli(['sim', 'scenarios/smart-factory.yaml', '--duration', '3s', '--json', '--labels', join(tmpdir(), 'iotd-e2e-labels.jsonl'), '--force'], {env})
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout)
    expect(summary.schemaVersion).toBe(1)
    expect(Number.isInteger(summary.seed)).toBe(true)
    expect(summary.totals.published).toBeGreaterThan(0)

    const interrupted = await runCli(['sim', 'scenarios/smart-factory.yaml', '--duration', '60s', '--labels', join(tmpdir(), 'iotd-e2e-labels.jsonl'), '--force'], {
      env,
      // The second live line: "sim 2s/60s" as well as "sim 2.03s/60s" (the live clock starts when the workers are
      // ready, so a line can fall within 5 ms of the whole second and print without decimals).
      onOutput: {match: /^sim 2(\.\d+)?s\//m, then: (pid) => process.kill(pid, 'SIGINT')},
    })
    expect(interrupted.code).toBe(130)
    expect(interrupted.stdout).toMatch(/interrupted/i)
    expect(interrupted.stdout).toMatch(/publish lag/)
  })

  it('a broker that is down: retries with backoff, then one clear message and exit 1', async () => {
    const port = await freePort()
    const r = await runCli(['sim', 'scenarios/smart-building.yaml', '--broker', `mqtt://127.0.0.1:${port}`, '--duration', '5s'], {timeoutMs: 60_000})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/127\.0\.0\.1:\d+/)
    expect(r.stderr).toMatch(/refused|not reachable|gave up/i)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('--backfill: same seed twice gives byte-identical files; more devices leave existing streams unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-backfill-'))
    const range = '2026-01-01T00:00:00Z..2026-01-01T00:10:00Z'
    const a = join(dir, 'a.csv')
    const b = join(dir, 'b.csv')
    for (const out of [a, b]) {
      const r = await runCli(['sim', 'scenarios/cold-chain.yaml', '--backfill', range, '--out', out, '--seed', '99', '--labels', join(dir, 'labels.jsonl'), '--force'])
      expect(r.code, r.stderr).toBe(0)
    }
    const first = readFileSync(a)
    expect(first.length).toBeGreaterThan(5_000)
    expect(first.equals(readFileSync(b))).toBe(true)
    expect(first.toString().split('\n')[0]).toBe('ts,topic,qos,retain,encoding,payload')

    // The same scenario with more trucks: every device that existed before publishes exactly the same rows.
    const bigger = join(dir, 'bigger.yaml')
    writeFileSync(bigger, readFileSync('scenarios/cold-chain.yaml', 'utf8').replace(/count: 12/, 'count: 16'))
    const c = join(dir, 'c.csv')
    const r = await runCli(['sim', bigger, '--backfill', range, '--out', c, '--seed', '99'])
    expect(r.code, r.stderr).toBe(0)
    const rowsByTopic = (text: string) => {
      const map = new Map<string, string[]>()
      for (const line of text.trim().split('\n').slice(1)) {
        const topic = line.split(',')[1]
        map.set(topic, [...(map.get(topic) ?? []), line])
      }
      return map
    }
    const before = rowsByTopic(first.toString())
    const after = rowsByTopic(readFileSync(c, 'utf8'))
    expect(after.size).toBeGreaterThan(before.size)
    for (const [topic, rows] of before) expect(after.get(topic)?.join('\n') === rows.join('\n'), topic).toBe(true)
  })

  it('--backfill into a directory that does not exist: one clear message, exit 1, no stack trace', async () => {
    const r = await runCli(['sim', 'scenarios/cold-chain.yaml', '--backfill', '2026-01-01T00:00Z..2026-01-01T01:00Z', '--out', '/nonexistent-dir/x.csv'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cannot write /nonexistent-dir/x.csv: its directory does not exist')
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
