/**
 * Shards at their edges: a shard past the last device is refused with one message by a live run, a backfill and
 * `sim registry` alike (exit 2), and a JOB_COMPLETION_INDEX that is set but not a number is named as such.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
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
})
