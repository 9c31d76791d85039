import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

/**
 * `iotd sim merge` compares the definition of the scenario its shards ran, not only its name and seed. Before: a
 * copy of scenarios/hvac-commands.yaml with the zone fleet's count 24 -> 30 (same name, seed 77), its shard 3/3
 * merged with shards 1/3 and 2/3 of the original, gave exit 0 and a fleet of neither file. A backfill's shards (no
 * broker needed) show it as a live run's do (test/e2e/sim-merge-outcome.e2e.test.ts).
 */
describe('iotd sim merge: shards of one definition', () => {
  let dir: string
  let copy: string
  const range = '2026-01-03T00:00:00Z..2026-01-03T00:10:00Z'
  const shard = async (file: string, name: string, i: number): Promise<string> => {
    const r = await runCli(['sim', file, '--backfill', range, '--out', join(dir, `${name}.csv`), '--shard', `${i}/3`, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const out = join(dir, `${name}.json`)
    writeFileSync(out, r.stdout)
    return out
  }
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iotd-merge-definition-'))
    // The copy keeps its behaviour module beside it, as the original does.
    mkdirSync(join(dir, 'behaviors'))
    copyFileSync('scenarios/behaviors/pump.js', join(dir, 'behaviors', 'pump.js'))
    copy = join(dir, 'hvac-commands.yaml')
    const text = readFileSync('scenarios/hvac-commands.yaml', 'utf8')
    expect(text).toContain('count: 24')
    writeFileSync(copy, text.replace('count: 24', 'count: 30'))
  })

  it('refuses the shards of an edited copy beside the original\'s (exit 2), and merges the original\'s own', {timeout: 90_000}, async () => {
    const [o1, o2, o3, c3] = await Promise.all([shard('scenarios/hvac-commands.yaml', 'o1', 1), shard('scenarios/hvac-commands.yaml', 'o2', 2), shard('scenarios/hvac-commands.yaml', 'o3', 3), shard(copy, 'c3', 3)])
    const mixed = await runCli(['sim', 'merge', o1, o2, c3])
    expect(mixed.code, mixed.stdout).toBe(2)
    expect(mixed.stdout).toBe('')
    expect(mixed.stderr).toMatch(/the shards ran different definitions of scenario hvac-commands \(seed 77\) \(shards 1\/3, 2\/3: 28 devices in all, fingerprint [0-9a-f]{16}; shard 3\/3: 34 devices in all, fingerprint [0-9a-f]{16}\)/)
    const whole = await runCli(['sim', 'merge', o1, o2, o3, '--json'])
    expect(whole.code, whole.stderr).toBe(0)
    const merged = JSON.parse(whole.stdout) as {devices: number; definition: {devices: number}; warnings: string[]}
    expect(merged.devices).toBe(28)
    expect(merged.definition.devices).toBe(28)
    // Nothing about the definition (each shard's own warnings, such as the commands a backfill does not apply, stay).
    expect(merged.warnings.filter((w) => /fingerprint|definition/.test(w))).toEqual([])
  })

  it('merges shards an older iotd wrote (no fingerprint) with a warning that says what could not be checked', {timeout: 90_000}, async () => {
    const files = await Promise.all([1, 2, 3].map((i) => shard('scenarios/hvac-commands.yaml', `old${i}`, i)))
    for (const file of files) {
      const {definition: _, ...older} = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
      writeFileSync(file, JSON.stringify(older))
    }
    const merged = await runCli(['sim', 'merge', ...files])
    expect(merged.code, merged.stderr).toBe(0)
    expect(merged.stdout).toContain('⚠ the shards carry no scenario fingerprint (an older iotd wrote them): nothing but the name and seed shows they ran one definition of scenario hvac-commands (seed 77)')
  })
})
