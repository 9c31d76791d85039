import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'

// #13 item 1: a sim run that did none of what it was asked never exits 0, and --threshold fails CI with exit 99.
describeMosquitto('iotd sim: exit codes for runs that failed (a real mosquitto)', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
  })
  afterAll(async () => {
    await broker?.stop()
  })

  it('exits 1 when no device ever connected (a source address that is not this machine\'s)', async () => {
    const r = await runCli(['sim', 'scenarios/smart-building.yaml', '--broker', broker.url, '--duration', '2s', '--source-ip', '10.9.9.9'])
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toMatch(/✗ no device ever connected \([\d,]+ connect errors?\); nothing was published/)
    expect(r.stderr).toMatch(/Error: no device ever connected to mqtt:\/\/127\.0\.0\.1:\d+: the run published nothing/)
    const json = await runCli(['sim', 'scenarios/smart-building.yaml', '--broker', broker.url, '--duration', '1s', '--source-ip', '10.9.9.9', '--json'])
    expect(json.code, json.stderr).toBe(1)
    expect(JSON.parse(json.stdout).connectLatency.count).toBe(0)
  })

  it('--threshold: k6-style SLOs judged at the end, exit 99 when one fails and 0 when all pass', async () => {
    // Five QoS 0 devices every 100 ms: messages from the first second on, whatever the machine's load.
    const scenario = join(mkdtempSync(join(tmpdir(), 'iotd-loud-sim-')), 'fast.yaml')
    writeFileSync(scenario, 'version: 1\nname: fast\nfleets:\n  - name: fast\n    count: 5\n    topic: "loud/sim/{deviceId}"\n    every: 100ms\n    fields:\n      ts: {kind: timestamp}\n')
    const base = ['sim', scenario, '--broker', broker.url, '--duration', '2s', '--json']
    const failing = await runCli([...base, '--threshold', 'connected>=100%', '--threshold', 'errors==0', '--threshold', 'lag.p(99)<0.001ms', '--threshold', 'delivered>=99%'])
    expect(failing.code, failing.stderr).toBe(99)
    const verdicts = JSON.parse(failing.stdout).thresholds as Array<{threshold: string; ok: boolean; observed: number | null}>
    expect(verdicts.map((v) => [v.threshold, v.ok])).toEqual([
      ['connected>=100%', true],
      ['errors==0', true],
      ['p(99)<0.001ms', false],
      ['delivered>=99%', true],
    ])
    const passing = await runCli([...base, '--threshold', 'connected>=100%', '--threshold', 'errors==0', '--threshold', 'lag.p(99)<5s'])
    expect(passing.code, passing.stderr).toBe(0)
  })

  it('a behaviour module that throws at load stops the run before any device connects: exit 2, its file:line:col', async () => {
    // Loaded only in the workers, it failed the run after the start: a summary of nothing, "a fleet worker failed", exit 1.
    const dir = mkdtempSync(join(tmpdir(), 'iotd-loud-behavior-'))
    writeFileSync(join(dir, 'boom.js'), '// settings\nthrow new Error("no config")\n')
    writeFileSync(join(dir, 'pump.yaml'), 'version: 1\nname: pump\nfleets:\n  - name: pump\n    count: 2\n    topic: "loud/pump/{deviceId}"\n    every: 1s\n    behavior: ./boom.js\n    fields:\n      v: 1\n')
    const r = await runCli(['sim', join(dir, 'pump.yaml'), '--broker', broker.url, '--duration', '2s'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(`${join(dir, 'boom.js')}:2:7: behavior module cannot be loaded: its top level threw Error: no config`)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.stdout).toBe('')
  })

  it('a behaviour module whose top level never finishes is refused after 10 s, not a run that hangs: exit 2, nothing published', async () => {
    // The run loaded the module in its own main thread with no limit: `iotd sim` hung until killed.
    const dir = mkdtempSync(join(tmpdir(), 'iotd-loop-behavior-'))
    writeFileSync(join(dir, 'spin.js'), '// waits for a device that never comes\nwhile (true) {}\n')
    writeFileSync(join(dir, 'pump.yaml'), 'version: 1\nname: pump\nfleets:\n  - name: pump\n    count: 2\n    topic: "loud/spin/{deviceId}"\n    every: 1s\n    behavior: ./spin.js\n    fields:\n      v: 1\n')
    const started = performance.now()
    const r = await runCli(['sim', join(dir, 'pump.yaml'), '--broker', broker.url, '--duration', '2s'], {timeoutMs: 40_000})
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(`${join(dir, 'spin.js')}: behavior module cannot be loaded: its top level did not finish in 10 s`)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.stdout).toBe('')
    expect(performance.now() - started).toBeGreaterThan(9_000)
  }, 60_000)

  it('a malformed threshold is a usage error before anything connects, with a did-you-mean', async () => {
    const r = await runCli(['sim', 'scenarios/smart-building.yaml', '--broker', broker.url, '--threshold', 'conected>=100%'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("unknown aggregation 'conected'; did you mean connected?")
  })
})
