/**
 * Connection retries at start-up say one line each on stderr (the attempt, the error, when the next one starts), as
 * bench's and sim's broker checks do, for the mqtt source of pipeline run, record and tail; then the "gave up" error,
 * exit 1. Before, nothing was said between the start and "gave up after N attempts".
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {freePort} from '../helpers/ports.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-e2e-retry-lines-'))

/** stderr lines that announce a retry, in order. */
const retryLines = (stderr: string) => stderr.split('\n').filter((l) => / connection attempt \d+\/\d+ failed /.test(l))

describe('connection retries at start-up are said', () => {
  it.each([
    ['record', (url: string) => ['record', 'r/#', '--broker', url, '--out', join(dir, 'r.csv'), '--duration', '30s']],
    ['tail', (url: string) => ['tail', 't/#', '--broker', url, '--duration', '30s']],
  ])('%s: one line per failed attempt before the last, then gave up, exit 1', async (_, args) => {
    // A port nothing listens on: every attempt is refused.
    const url = `mqtt://127.0.0.1:${await freePort()}`
    const r = await runCli(args(url), {timeoutMs: 30_000})
    expect(r.code, r.stderr).toBe(1)
    const lines = retryLines(r.stderr)
    expect(lines, r.stderr).toHaveLength(2)
    expect(lines[0]).toMatch(new RegExp(`: connection attempt 1/3 failed \\(cannot connect to ${url.replace(/[.]/g, '\\.')}: connection refused.*\\); retrying in \\d+ms$`))
    expect(lines[1]).toMatch(/: connection attempt 2\/3 failed \(.*\); retrying in \d+ms$/)
    expect(r.stderr).toMatch(/gave up connecting to .* after 3 attempts/)
  })

  it('pipeline run: the mqtt source says each retry the same way', async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`
    const file = join(dir, 'flow.yaml')
    writeFileSync(file, `version: 1
name: retry-lines
sources:
  plant: {type: mqtt, url: "${url}", topics: ["p/#"], connectAttempts: 3}
rules:
  - name: all
    sql: SELECT * FROM plant
    sinks:
      - {type: stdout}
`)
    const r = await runCli(['pipeline', 'run', file, '--no-state'], {timeoutMs: 30_000})
    expect(r.code, r.stderr).toBe(1)
    const lines = retryLines(r.stderr)
    expect(lines, r.stderr).toHaveLength(2)
    expect(lines[0]).toMatch(/plant: connection attempt 1\/3 failed \(cannot connect to .*\); retrying in \d+ms$/)
    expect(r.stderr).toMatch(/gave up connecting to .* after 3 attempts/)
  })
  it('pipeline run: the mqtt sink says each retry the same way', async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`
    const file = join(dir, 'sink.yaml')
    writeFileSync(join(dir, 'one.csv'), 'ts,topic,qos,retain,encoding,payload\n1767225600000000,a/b,0,false,utf8,"{""a"":1}"\n')
    writeFileSync(file, `version: 1
name: retry-lines-sink
sources:
  lines: {type: csv, path: one.csv}
rules:
  - name: all
    sql: SELECT * FROM lines
    sinks:
      - {type: mqtt, url: "${url}", topic: "out/x", connectAttempts: 3}
`)
    const r = await runCli(['pipeline', 'run', file, '--no-state'], {timeoutMs: 30_000})
    expect(r.code, r.stderr).not.toBe(0)
    const lines = retryLines(r.stderr)
    expect(lines, r.stderr).toHaveLength(2)
    expect(lines[0]).toMatch(/: connection attempt 1\/3 failed \(cannot connect to .*\); retrying in \d+ms$/)
  })
})
