/**
 * A run that fails under --json says why on stderr, as without --json: stdout keeps the one JSON summary for the
 * script, and the person or the CI log gets the error and its suggestions. Before, finishRun exited 1 under --json
 * with nothing on stderr (CI showed "exit 1" and no sentence).
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

describe('a failed run under --json writes its reason to stderr', () => {
  it('pipeline run --json of an empty file: nothing to process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-json-failure-'))
    const input = join(dir, 'empty.jsonl')
    writeFileSync(input, '')
    const flow = join(dir, 'flow.yaml')
    writeFileSync(flow, `version: 1\nname: empty\nsources:\n  f: {type: file, path: "${input}"}\nrules: [{name: pass, sql: SELECT v FROM f, sinks: [{type: stdout}]}]\n`)
    const r = await runCli(['pipeline', 'run', flow, '--json', '--no-state'])
    expect(r.code, r.stderr).toBe(1)
    expect((JSON.parse(r.stdout) as {eventsIn: number}).eventsIn).toBe(0)
    expect(r.stderr.match(/^Error: nothing to process: every source ended without a record \(source f \(file\): 0 records\)$/gm)).toHaveLength(1)
  }, 30_000)

  it('modbus scan --json of a device that never answers: no unit answered, with what to try', async () => {
    // Accepts connections and never answers: every unit id times out.
    const sockets = new Set<Socket>()
    const silent = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
    })
    const port = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as {port: number}).port)))
    try {
      const r = await runCli(['modbus', 'scan', `127.0.0.1:${port}`, '--units', '1-2', '--timeout', '100ms', '--json'])
      expect(r.code, r.stderr).toBe(1)
      expect((JSON.parse(r.stdout) as {responding: unknown[]}).responding).toEqual([])
      expect(r.stderr).toMatch(/^Error: no unit answered \(0 of 2\)$/m)
      expect(r.stderr).toMatch(/^ {2}Try: check the target and --units/m)
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  }, 30_000)
})
