/**
 * Secrets are never printed: a broker URL (or --out influxdb=URL) typed slightly wrong fails with exit 2 and a
 * message that quotes it with the password masked, on stderr and in the --json error alike, for every command that
 * takes one. Nothing here reaches a network: each URL is refused before anything connects.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-url-secrets-'))
const scenario = join(dir, 's1.yaml')
writeFileSync(scenario, 'version: 1\nname: s1\nseed: 1\nfleets:\n  - {name: m, count: 10, id: "m-{index}", topic: "s1/{deviceId}", every: 1s, fields: {v: {kind: uniform, min: 0, max: 1}}}\n')
const capture = join(dir, 'cap.csv')
writeFileSync(capture, 'ts,topic,payload\n2026-01-01T00:00:00.000Z,a/b,1\n')

const MALFORMED = ['u:Sekr3t@127.0.0.1:1883', 'mqtt:/u:Sekr3t@127.0.0.1:1883', 'mqtt:u:Sekr3t@127.0.0.1:1883', 'mqtt://u:Sek/r3t@127.0.0.1:1883', 'mqtt://u:Sek#r3t@127.0.0.1:1883']

function expectNoSecret(r: {stdout: string; stderr: string}, what: string): void {
  for (const piece of ['Sekr3t', 'Sek/r3t', 'Sek#r3t', 'InfPw57']) {
    expect(r.stdout, what).not.toContain(piece)
    expect(r.stderr, what).not.toContain(piece)
  }
}

describe('a malformed URL is quoted with its password masked', () => {
  it.each(MALFORMED)('iotd sim -b %s (plain and --json): exit 2, the password masked', {timeout: 60_000}, async (broker) => {
    const plain = await runCli(['sim', scenario, '--broker', broker, '--duration', '1s'])
    expect(plain.code, plain.stderr).toBe(2)
    expect(plain.stderr).toMatch(/u:\*\*\*@127\.0\.0\.1:1883|mqtt:\*\*\*@127\.0\.0\.1:1883/)
    expectNoSecret(plain, `plain ${broker}`)
    const json = await runCli(['sim', scenario, '--broker', broker, '--duration', '1s', '--json'])
    expect(json.code, json.stderr).toBe(2)
    const parsed = JSON.parse(json.stdout) as {error: {message: string; exitCode: number}}
    expect(parsed.error).toMatchObject({exitCode: 2})
    expect(parsed.error.message).toContain('***@127.0.0.1:1883')
    expectNoSecret(json, `--json ${broker}`)
  })

  it('bench, tail, record and replay quote a broker URL the same way', {timeout: 60_000}, async () => {
    const runs = [
      ['bench', '--broker', 'mqtt://u:Sek/r3t@127.0.0.1:1883', '--duration', '1s', '--json'],
      ['tail', 'a/#', '--broker', 'u:Sekr3t@127.0.0.1:1883'],
      ['record', 'a/#', '--broker', 'mqtt:/u:Sekr3t@127.0.0.1:1883', '--out', join(dir, 'r.csv'), '--duration', '1s'],
      ['replay', capture, '--broker', 'mqtt://u:Sek#r3t@127.0.0.1:1883'],
    ]
    for (const args of runs) {
      const r = await runCli(args)
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2)
      expect(r.stdout + r.stderr, args[0]).toContain(':***@127.0.0.1:1883')
      expectNoSecret(r, args[0])
    }
  })

  it('--out influxdb= with credentials in the query: exit 2, p=*** (plain and --json)', {timeout: 60_000}, async () => {
    const out = 'influxdb=http:/127.0.0.1:1/?u=admin&p=InfPw57'
    const plain = await runCli(['sim', scenario, '--duration', '1s', '--out', out])
    expect(plain.code, plain.stderr).toBe(2)
    expect(plain.stderr).toContain('p=***')
    expectNoSecret(plain, 'plain --out')
    const json = await runCli(['bench', '--duration', '1s', '--out', 'influxdb=http://127.0.0.1:8086/db?u=admin&p=InfPw57', '--json'])
    expect(json.code, json.stderr).toBe(2)
    expect((JSON.parse(json.stdout) as {error: {message: string}}).error.message).toContain('p=***')
    expectNoSecret(json, '--json --out')
  })

  it('a live run given --out that is not influxdb= (a typo such as influx=) quotes it masked', {timeout: 60_000}, async () => {
    const r = await runCli(['sim', scenario, '--duration', '1s', '--out', 'influx=http://u:Sekr3t@127.0.0.1:8086/db'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('a live run takes --out influxdb=URL')
    expectNoSecret(r, 'sim --out influx=')
  })
})
