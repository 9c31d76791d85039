import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'

/**
 * `iotd sim merge` of live-run shards ends as the shards did. Before: the shards of one run, one of which never
 * connected (it ran 1 ms and exited 1 on its own), merged into "✗ not every device connected (7 of 10)" and exit 0,
 * with no word that the shards ran 4 s and 1 ms. And its refusals said contradictory things: "the first is of
 * undefined", or an invalid first summary and then "summary 2 is a backfill's summary and summary 1 a live run's".
 */
describeMosquitto('iotd sim merge: shards of live runs (a real mosquitto)', () => {
  let broker: Mosquitto
  let dir: string
  let scenario: string
  const shard = async (name: string, args: string[], code: number): Promise<string> => {
    const r = await runCli(['sim', scenario, '--seed', '7', '--json', '--broker', broker.url, ...args])
    expect(r.code, r.stderr).toBe(code)
    const file = join(dir, `${name}.json`)
    writeFileSync(file, r.stdout)
    return file
  }
  beforeAll(async () => {
    broker = await startMosquitto()
    dir = mkdtempSync(join(tmpdir(), 'iotd-merge-outcome-'))
    scenario = join(dir, 's1.yaml')
    writeFileSync(scenario, 'version: 1\nname: s1\nfleets:\n  - name: s1\n    count: 10\n    topic: "merge/s1/{deviceId}"\n    every: 1s\n    fields:\n      v: 1\n')
  })
  afterAll(async () => {
    await broker?.stop()
  })

  it('a shard that never connected makes the merge exit 1, naming it; shards of 2 s and 1 ms are warned about', {timeout: 90_000}, async () => {
    const [ls1, ls2b, ls3, ls2] = await Promise.all([
      shard('ls1', ['--shard', '1/3', '--duration', '2s'], 0),
      // No source address of this machine: not one device connects, and the shard exits 1 on its own.
      shard('ls2b', ['--shard', '2/3', '--duration', '1ms', '--source-ip', '10.9.9.9'], 1),
      shard('ls3', ['--shard', '3/3', '--duration', '2s'], 0),
      shard('ls2', ['--shard', '2/3', '--duration', '2s'], 0),
    ])
    const bad = await runCli(['sim', 'merge', ls1, ls2b, ls3])
    expect(bad.code, bad.stderr).toBe(1)
    expect(bad.stdout).toMatch(/⚠ shard 2\/3: no device ever connected to mqtt:\/\/127\.0\.0\.1:\d+; it published nothing/)
    // The 1 ms shard may end before its first millisecond is out (674µs in one CI run).
    expect(bad.stdout).toMatch(/⚠ the shards ran for different times \(\d+(\.\d+)?(µs|ms) to 2(\.\d+)?s\)/)
    expect(bad.stderr).toMatch(/1 of 3 shards did nothing they were asked \(shard 2\/3: no device ever connected/)
    expect(bad.stderr).not.toMatch(/\n\s+at /)
    const json = await runCli(['sim', 'merge', ls1, ls2b, ls3, '--json'])
    expect(json.code).toBe(1)
    expect((JSON.parse(json.stdout) as {warnings: string[]}).warnings.some((w) => w.startsWith('shard 2/3: no device ever connected'))).toBe(true)
    // The same run with a shard 2 that connected: exit 0, no warning about lengths.
    const good = await runCli(['sim', 'merge', ls1, ls2, ls3])
    expect(good.code, good.stderr).toBe(0)
    expect(good.stdout).not.toContain('different times')
    expect(good.stdout).toMatch(/total +10\/10 /)
  })

  it('an interrupted shard makes the merge exit 130, one whose worker failed 1', {timeout: 90_000}, async () => {
    const [one, two] = await Promise.all([shard('i1', ['--shard', '1/2', '--duration', '2s'], 0), shard('i2', ['--shard', '2/2', '--duration', '2s'], 0)])
    const edited = (name: string, change: Record<string, unknown>) => {
      const file = join(dir, `${name}.json`)
      writeFileSync(file, JSON.stringify({...JSON.parse(readFileSync(two, 'utf8')), ...change}))
      return file
    }
    const cut = await runCli(['sim', 'merge', one, edited('i2-cut', {interrupted: true})])
    expect(cut.code, cut.stderr).toBe(130)
    const failed = await runCli(['sim', 'merge', one, edited('i2-failed', {error: 'a fleet worker failed: boom'})])
    expect(failed.code, failed.stderr).toBe(1)
    expect(failed.stderr).toContain('shard 2/2: a fleet worker failed: boom (the merged summary above covers the shards until then)')
  })

  it('thresholds are judged on the whole fleet: shards within a limit merge into a fail (exit 99); --threshold replaces; a shard exits 0 on its own', {timeout: 90_000}, async () => {
    // Before: the merge ignored thresholds (exit 0 whatever they said), had no --threshold, and a shard that failed
    // one exited 99, failing its Job before the merge could run.
    // --limit 20: 10 messages due per shard. Each shard's lag.count (messages published) is at most 10, within 12;
    // the fleet's is 20.
    const slo = ['--limit', '20', '--threshold', 'lag.count<=12', '--threshold', 'errors==0']
    const [t1, t2] = await Promise.all([shard('t1', ['--shard', '1/2', ...slo], 0), shard('t2', ['--shard', '2/2', ...slo], 0)])
    for (const file of [t1, t2]) expect((JSON.parse(readFileSync(file, 'utf8')) as {thresholds: Array<{ok: boolean}>}).thresholds.map((v) => v.ok)).toEqual([true, true])
    const merged = await runCli(['sim', 'merge', t1, t2])
    expect(merged.code, merged.stderr).toBe(99)
    expect(merged.stdout).toMatch(/✗ 1 of 2 thresholds failed: count<=12\n +✗ count<=12 +observed (1[3-9]|20)\n +✓ errors==0 +observed 0\n/)
    const json = await runCli(['sim', 'merge', t1, t2, '--json'])
    expect(json.code).toBe(99)
    expect((JSON.parse(json.stdout) as {thresholds: Array<{threshold: string; ok: boolean}>}).thresholds.map((v) => [v.threshold, v.ok])).toEqual([
      ['count<=12', false],
      ['errors==0', true],
    ])
    // --threshold replaces the shards' own; a percentile is the largest shard's, and the verdict says it is a bound.
    const replaced = await runCli(['sim', 'merge', t1, t2, '--threshold', 'lag.count<=20', '--threshold', 'lag.p(99)<10s'])
    expect(replaced.code, replaced.stderr).toBe(0)
    expect(replaced.stdout).toMatch(/✓ all 2 thresholds passed\n +✓ count<=20 +observed \d+\n +✓ p\(99\)<10s +observed [\d.]+m?s \(upper bound: the largest shard's\)\n/)
    expect(replaced.stdout).not.toContain('count<=12')
    const bad = await runCli(['sim', 'merge', t1, t2, '--threshold', 'loss<1%'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--threshold 'loss<1%': unknown aggregation 'loss'; did you mean delivered?")

    // A shard that fails a threshold records it and exits 0, saying the merge judges it (run alone: two copies of a
    // shard at once would take over each other's sessions, which share client ids).
    const own = await runCli(['sim', scenario, '--seed', '7', '--json', '--broker', broker.url, '--shard', '2/2', ...slo, '--threshold', 'lag.count<=5'])
    expect(own.code, own.stderr).toBe(0)
    expect(own.stderr).toContain('warn: shard: thresholds are judged on the merged summary (iotd sim merge); this shard exits 0 on them')
    expect((JSON.parse(own.stdout) as {thresholds: Array<{threshold: string; ok: boolean}>}).thresholds.map((v) => [v.threshold, v.ok])).toEqual([
      ['count<=12', true],
      ['errors==0', true],
      ['count<=5', false],
    ])
    const t3 = join(dir, 't3.json')
    writeFileSync(t3, own.stdout)
    // Shards that recorded different thresholds: each one is judged, and the merge says which shard lacked it.
    const mixed = await runCli(['sim', 'merge', t1, t3])
    expect(mixed.code, mixed.stderr).toBe(99)
    expect(mixed.stdout).toContain('⚠ the shards recorded different thresholds (shard 1/2 lacks count<=5): the merge judges every one any shard recorded; --threshold sets them')
    expect(mixed.stdout).toMatch(/✗ count<=5 +observed \d+/)
  })

  it('shards of two files with one name and seed are refused (exit 2), naming which shard ran which definition', {timeout: 90_000}, async () => {
    // Before: shard 3/3 of a copy whose fleet had count 12 merged with shards 1/3 and 2/3 of the original (count 10)
    // into exit 0 and "total 12/12": the run of neither file (10 or 12 devices). Only the name and seed were compared.
    const copy = join(dir, 's1-edited.yaml')
    writeFileSync(copy, readFileSync(scenario, 'utf8').replace('count: 10', 'count: 12'))
    const [d1, d2] = await Promise.all([shard('d1', ['--shard', '1/3', '--duration', '1s'], 0), shard('d2', ['--shard', '2/3', '--duration', '1s'], 0)])
    const edited = await runCli(['sim', copy, '--seed', '7', '--json', '--broker', broker.url, '--shard', '3/3', '--duration', '1s'])
    expect(edited.code, edited.stderr).toBe(0)
    const d3 = join(dir, 'd3.json')
    writeFileSync(d3, edited.stdout)
    expect(JSON.parse(edited.stdout)).toMatchObject({definition: {devices: 12}})
    const merged = await runCli(['sim', 'merge', d1, d2, d3])
    expect(merged.code, merged.stdout).toBe(2)
    expect(merged.stdout).toBe('')
    expect(merged.stderr).toMatch(/the shards ran different definitions of scenario s1 \(seed 7\) \(shards 1\/3, 2\/3: 10 devices in all, fingerprint [0-9a-f]{16}; shard 3\/3: 12 devices in all, fingerprint [0-9a-f]{16}\): their sum is the run of neither/)
    expect(merged.stderr).not.toMatch(/\n\s+at /)
  })

  it('refusals say one thing: "the first is not a shard", and an invalid first summary is not classified against the others', {timeout: 90_000}, async () => {
    const bf = await runCli(['sim', scenario, '--backfill', '2026-01-01T00:00Z..2026-01-01T00:01Z', '--out', join(dir, 'bf.csv'), '--json'])
    const bfs1 = await runCli(['sim', scenario, '--backfill', '2026-01-01T00:00Z..2026-01-01T00:01Z', '--out', join(dir, 'bfs1.csv'), '--json', '--shard', '1/3'])
    expect([bf.code, bfs1.code]).toEqual([0, 0])
    writeFileSync(join(dir, 'bf.json'), bf.stdout)
    writeFileSync(join(dir, 'bfs1.json'), bfs1.stdout)
    writeFileSync(join(dir, 'e.json'), '{}\n')
    const unsharded = await runCli(['sim', 'merge', join(dir, 'bf.json'), join(dir, 'bfs1.json')])
    expect(unsharded.code).toBe(2)
    expect(unsharded.stderr).toContain(`${join(dir, 'bfs1.json')} is shard 1/3, the first (${join(dir, 'bf.json')}) is not a shard`)
    expect(unsharded.stderr).not.toContain('undefined')
    const empty = await runCli(['sim', 'merge', join(dir, 'e.json'), join(dir, 'bfs1.json')])
    expect(empty.code).toBe(2)
    expect(empty.stderr).toContain(`${join(dir, 'e.json')} is not an iotd sim --json summary (neither a live run's nor a backfill's)`)
    expect(empty.stderr).not.toContain('bfs1.json')
    // A backfill has no connections, lag or deliveries: a threshold on its shards would pass unchecked.
    const judged = await runCli(['sim', 'merge', join(dir, 'bfs1.json'), '--threshold', 'errors==0'])
    expect(judged.code).toBe(2)
    expect(judged.stderr).toContain("--threshold judges a live run's shards: a backfill measures no connections, lag or deliveries")
  })
})
