/**
 * `iotd pipeline run` on input that holds nothing: a run whose every source ended without a record did nothing it
 * was asked and exits 1 with one line saying so; a live subscription stopped by --duration with no input says
 * 0 records and exits 0, as tail and record do.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../helpers/mosquitto.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-empty-input-'))

function fileFlow(data: string): string {
  const input = join(dir, `in-${Math.random().toString(16).slice(2, 8)}.jsonl`)
  writeFileSync(input, data)
  const flow = `${input}.yaml`
  writeFileSync(flow, `version: 1\nname: empty\nsources:\n  f: {type: file, path: "${input}"}\nrules: [{name: pass, sql: SELECT v FROM f, sinks: [{type: stdout}]}]\n`)
  return flow
}

describe('pipeline run of an empty input', () => {
  it('a file source of an empty file: exit 1, one line why', async () => {
    const r = await runCli(['pipeline', 'run', fileFlow(''), '--quiet', '--no-state'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^Error: nothing to process: every source ended without a record \(source f \(file\): 0 records\)$/m)
    const json = await runCli(['pipeline', 'run', fileFlow(''), '--json', '--no-state'])
    expect(json.code).toBe(1)
    expect((JSON.parse(json.stdout) as {eventsIn: number}).eventsIn).toBe(0)
  })

  it('a file with records: exit 0', async () => {
    const r = await runCli(['pipeline', 'run', fileFlow('{"v":1}\n'), '--quiet', '--no-state'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('"v":1')
  })
})

describeMosquitto('pipeline run of a live source that gets nothing', () => {
  it('stopped by --duration with 0 records: exit 1, nothing received (as bench); Ctrl-C: 130', {timeout: 30_000}, async () => {
    const broker = await startMosquitto()
    const flow = join(dir, 'live.yaml')
    writeFileSync(flow, `version: 1\nname: quiet\nsources:\n  m: {type: mqtt, url: "${broker.url}", topics: ["empty/${process.pid}"]}\nrules: [{name: pass, sql: SELECT v FROM m, sinks: [{type: stdout}]}]\n`)
    const r = await runCli(['pipeline', 'run', flow, '--quiet', '--no-state', '--duration', '1s'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/source m \(mqtt\): 0 records/)
    expect(r.stderr).toMatch(/^Error: nothing received in 1(\.\d+)?s: no source gave a record while the run listened \(source m \(mqtt\): 0 records\)$/m)
    // Ctrl-C once it runs (its first progress line): interrupted, 130 as always.
    const interrupted = await runCli(['pipeline', 'run', flow, '--no-state'], {onOutput: {match: /in 0 /, then: (pid) => process.kill(pid, 'SIGINT')}, timeoutMs: 20_000})
    expect(interrupted.code).toBe(130)
  })
})
