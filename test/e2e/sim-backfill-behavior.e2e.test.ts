import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

describe('iotd sim --backfill of a fleet with a behaviour module, commands or a twin', () => {
  it('says that the module (its onTick too) and the commands and twin are not applied, on stderr and in the JSON summary', async () => {
    // The live run published rpm 0, 10, 20...; the backfill wrote 1450 every time, exit 0, and said nothing.
    const dir = mkdtempSync(join(tmpdir(), 'iotd-backfill-behavior-'))
    writeFileSync(join(dir, 't.cjs'), 'module.exports = {\n  onTick(device) { device.set("rpm", device.n * 10) },\n}\n')
    const scenario = join(dir, 's.yaml')
    writeFileSync(scenario, [
      'version: 1', 'seed: 1', 'fleets:',
      '  - {name: pump, count: 2, topic: "p/{deviceId}", every: 1s, behavior: ./t.cjs, fields: {rpm: 1450}}',
      '  - name: zone', '    count: 1', '    topic: "z/{deviceId}"', '    every: 1s', '    fields: {setpoint: 21}',
      '    commands: [{name: sp, topic: "{deviceId}/cmd/sp", set: {setpoint: "$.value"}}]',
      '  - {name: plain, count: 1, topic: "q/{deviceId}", every: 1s, fields: {t: 1}}',
      '',
    ].join('\n'))
    const range = '2026-01-01T00:00Z..2026-01-01T00:00:03Z'
    const module = `fleet pump: a backfill does not apply its behaviour module ${join(dir, 't.cjs')} (onStart, onTick and onMessage are not called: the rows carry the fields as generated, not what the module would set, switch or publish); a live run does`
    const commands = 'fleet zone: a backfill does not apply its commands: (they answer messages from a broker, and a backfill connects to none); a live run does'
    const toStdout = await runCli(['sim', scenario, '--backfill', range, '--out', '-'])
    expect(toStdout.code, toStdout.stderr).toBe(0)
    expect(toStdout.stdout).toContain('p/pump-0000,0,0,utf8,"{""rpm"":1450}"')
    expect(toStdout.stderr).toContain(`⚠ ${module}`)
    expect(toStdout.stderr).toContain(`⚠ ${commands}`)
    expect(toStdout.stderr).not.toContain('fleet plain')
    const out = join(dir, 'data.csv')
    const json = await runCli(['sim', scenario, '--backfill', range, '--out', out, '--json'])
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout).warnings).toEqual([module, commands])
    expect(readFileSync(out, 'utf8')).toContain('rpm')
    // Only the fleets selected: --fleet plain has nothing to say.
    const plain = await runCli(['sim', scenario, '--backfill', range, '--out', out, '--json', '--fleet', 'plain'])
    expect(JSON.parse(plain.stdout).warnings).toBeUndefined()
  })
})
