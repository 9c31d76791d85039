/**
 * What a backfill says about itself, and what it refuses: flags it cannot honour, a range in which nothing fell due,
 * a limit that cut the range short, the seed it used, the MQTT 5 properties of the fleets it writes, and the merge of
 * its shard summaries. Also the run-length flag of a live run (--duration 0 is a usage error, not a broker problem).
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-backfill-outcome-'))
const scenario = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
const tiny = scenario('tiny.yaml', 'version: 1\nseed: 5\nfleets:\n  - name: t\n    count: 2\n    topic: "t/{deviceId}"\n    every: 1s\n    fields: {n: {kind: counter}}\n')
const range = '2026-01-01T00:00Z..2026-01-01T00:01Z'

describe('iotd sim --backfill: flags it cannot honour', () => {
  it('--threshold and --duration (flag or environment) are refused with exit 2, naming the flag; nothing is written', async () => {
    // Both were ignored with exit 0: a CI gate `--threshold errors==0` passed without being checked.
    const out = join(dir, 'refused.csv')
    const runs = await Promise.all([
      runCli(['sim', tiny, '--backfill', range, '--out', out, '--threshold', 'errors==0']),
      runCli(['sim', tiny, '--backfill', range, '--out', out, '-d', '5s']),
      runCli(['sim', tiny, '--backfill', range, '--out', out], {env: {IOTD_DURATION: '5s'}}),
    ])
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2])
    expect(runs[0].stderr).toContain('--backfill does not take --threshold')
    expect(runs[1].stderr).toContain('--backfill does not take --duration')
    expect(runs[2].stderr).toContain('--backfill does not take --duration')
    for (const r of runs) expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(() => readFileSync(out)).toThrow()
  })

  it('a live run with --duration 0s is a usage error (exit 2), not "no device ever connected"', async () => {
    // Nothing listens on port 1: before, the run tried, and blamed the broker (exit 1).
    const r = await runCli(['sim', tiny, '--broker', 'mqtt://127.0.0.1:1', '-d', '0s'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('--duration must be more than 0')
    expect(r.stderr).not.toContain('no device ever connected')
  })
})
