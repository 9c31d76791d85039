/**
 * Ctrl-C during the InfluxDB check of `--out influxdb=URL` (before the run starts): the command ends at once as an
 * interrupted run, exit 130 with one line saying so, whether the check is waiting between attempts (InfluxDB down)
 * or on an attempt in flight (a server that accepts and never answers, where one attempt waits 5 s). Before, the
 * signal killed the process (no exit code, no message) and nothing was closed.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import {startCli} from '../helpers/cli.js'
import {loadAwareBound} from '../helpers/load-bound.js'
import {freePort} from '../helpers/ports.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-influx-interrupt-'))
const scenario = join(dir, 's1.yaml')
writeFileSync(scenario, 'version: 1\nname: s1\nseed: 1\nfleets:\n  - {name: m, count: 10, id: "m-{index}", topic: "s1/{deviceId}", every: 1s, fields: {v: {kind: uniform, min: 0, max: 1}}}\n')

/** Accepts connections and never answers: an InfluxDB attempt against it waits for its 5 s timeout. */
const sockets: Socket[] = []
const silent = createServer((s) => sockets.push(s))
const silentReady = new Promise<number>((ok) => silent.listen(0, '127.0.0.1', () => ok((silent.address() as {port: number}).port)))
afterAll(() => {
  for (const s of sockets) s.destroy()
  silent.close()
})

/** Starts the CLI, sends SIGINT once `ready` resolves, and returns how it ended and how long that took after the signal. */
async function interruptWhen(args: string[], ready: (cli: ReturnType<typeof startCli>) => Promise<void>) {
  const cli = startCli(args)
  await ready(cli)
  const sent = performance.now()
  cli.child.kill('SIGINT')
  const result = await cli.exited
  return {...result, afterSignalMs: performance.now() - sent}
}

function stderrShows(cli: ReturnType<typeof startCli>, pattern: RegExp): Promise<void> {
  return new Promise((ok, fail) => {
    const timer = setInterval(() => {
      if (pattern.test(cli.stderr())) {
        clearInterval(timer)
        ok()
      } else if (cli.child.exitCode !== null) {
        clearInterval(timer)
        fail(new Error(`exited before ${String(pattern)}: ${cli.stderr()}`))
      }
    }, 10)
  })
}

it('sim: Ctrl-C while waiting between InfluxDB attempts exits 130 at once with one line', {timeout: 30_000}, async () => {
  const port = await freePort()
  const r = await interruptWhen(['sim', scenario, '--duration', '2s', '--out', `influxdb=http://127.0.0.1:${port}/iotd`], (cli) =>
    stderrShows(cli, /influxdb check 1\/5 failed/),
  )
  expect({code: r.code, signal: r.signal}, r.stderr).toEqual({code: 130, signal: null})
  expect(r.stderr).toContain(`Error: --out influxdb: interrupted while checking InfluxDB at http://127.0.0.1:${port}\n`)
  expect(r.stderr).not.toMatch(/check 2\/5|gave up/)
  expect(r.afterSignalMs).toBeLessThan(loadAwareBound(1000))
})

it('bench: Ctrl-C during an InfluxDB attempt that gets no answer exits 130 without waiting for its timeout (also --json)', {timeout: 30_000}, async () => {
  const port = await silentReady
  const broker = await freePort()
  for (const json of [false, true]) {
    const connected = sockets.length
    const args = ['bench', '--broker', `mqtt://127.0.0.1:${broker}`, '--duration', '2s', '--out', `influxdb=http://127.0.0.1:${port}/iotd`, ...(json ? ['--json'] : [])]
    const r = await interruptWhen(args, async () => {
      while (sockets.length === connected) await new Promise((ok) => setTimeout(ok, 10))
    })
    expect({code: r.code, signal: r.signal}, r.stderr).toEqual({code: 130, signal: null})
    // The attempt was given up, not failed: no retry is announced.
    expect(r.stderr).not.toMatch(/influxdb check/)
    // One attempt waits 5 s for an answer; the bound is well inside it even widened for a loaded machine.
    expect(r.afterSignalMs).toBeLessThan(Math.min(4000, loadAwareBound(1000)))
    if (json) expect((JSON.parse(r.stdout) as {error: {exitCode: number; message: string}}).error).toMatchObject({exitCode: 130, message: expect.stringContaining('interrupted while checking InfluxDB') as unknown})
    else expect(r.stderr).toContain(`Error: --out influxdb: interrupted while checking InfluxDB at http://127.0.0.1:${port}\n`)
  }
})
