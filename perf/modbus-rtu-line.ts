/**
 * The Modbus RTU figures of issue #17: 32 simulated units on one serial line (a pseudo-terminal) polled back to back
 * by iotd's RTU client (modbus-serial), reads of two input registers: reads/s with the line as fast as the pty goes,
 * and, with lineTiming on, the time of each exchange against what the baud rate allows:
 * (8 request + 9 response bytes) × 11 bits ÷ baud + 3.5 characters of silence. The simulator runs as `iotd sim`
 * (bin/run.js, its own process); the client runs here.
 *
 *   npm run build && flock /tmp/iotd-perf.lock node --import tsx perf/modbus-rtu-line.ts [--seconds 10] [--runs 3]
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {frameSilenceMs, lineTimeMs} from '../src/modbus/rtu.js'
import {ModbusRtuClient} from '../src/net/modbus-rtu-client.js'
import {harnessOptions} from './harness-args.js'
import {median} from './run-figures.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RUN = join(ROOT, 'bin/run.js')
const {seconds, runs} = harnessOptions({seconds: 10, runs: 3})
const dir = mkdtempSync(join(tmpdir(), 'edge-rtu-perf-'))

async function withLine<T>(baud: number, lineTiming: boolean, fn: (path: string) => Promise<T>): Promise<T> {
  const path = join(dir, `line-${baud}-${lineTiming}`)
  const file = join(dir, `line-${baud}-${lineTiming}.yaml`)
  writeFileSync(
    file,
    `version: 1\nseed: 1\nmodbus:\n  - name: line\n    transport: rtu\n    serial: {device: "pty:${path}", baud: ${baud}}\n    lineTiming: ${lineTiming}\n    units: 32\n    every: 1s\n    tags:\n      - {name: v, address: 30001, type: float32, value: {kind: walk, mean: 230, sigma: 1, theta: 0.1}}\n`,
  )
  const sim = spawn(process.execPath, [RUN, 'sim', file, '--duration', '10m'], {stdio: ['ignore', 'ignore', 'pipe']})
  let err = ''
  sim.stderr.on('data', (d: Buffer) => (err += d.toString()))
  while (!err.includes('listening on serial line')) {
    if (sim.exitCode !== null) throw new Error(err)
    await new Promise((r) => setTimeout(r, 50))
  }
  try {
    return await fn(path)
  } finally {
    // A simulator that already ended has emitted 'close': waiting for it again would leave nothing on the event loop
    // and Node would end this harness silently with exit 0 in the middle of the runs.
    if (sim.exitCode === null && sim.signalCode === null) {
      const closed = new Promise((r) => sim.once('close', r))
      sim.kill('SIGINT')
      await closed
    }
  }
}

/** Polls units 1..32 in turn for `ms`; returns reads/s and the per-read times. */
async function poll(path: string, baud: number, ms: number): Promise<{readsPerS: number; times: number[]; failures: number}> {
  const client = new ModbusRtuClient({kind: 'serial', path, baud, parity: 'none', dataBits: 8, stopBits: 1}, {timeoutMs: 1000})
  await client.connect()
  const times: number[] = []
  let failures = 0
  const until = performance.now() + ms
  let unit = 1
  const t0 = performance.now()
  while (performance.now() < until) {
    const t = performance.now()
    try {
      await client.read(unit, 'input', 0, 2)
      times.push(performance.now() - t)
    } catch {
      failures++
    }
    unit = (unit % 32) + 1
  }
  const elapsed = performance.now() - t0
  await client.close()
  return {readsPerS: (times.length / elapsed) * 1000, times, failures}
}

let finished = false
process.on('exit', (code) => {
  if (!finished && code === 0) {
    console.error('perf/modbus-rtu-line: ended before the last run (an await was left with nothing pending)')
    process.exitCode = 1
  }
})
const fast: number[] = []
for (let i = 0; i < runs; i++) {
  const r = await withLine(115200, false, (path) => poll(path, 115200, seconds * 1000))
  fast.push(r.readsPerS)
  console.log(`no line timing, run ${i + 1}: ${r.readsPerS.toFixed(0)} reads/s (${r.times.length} reads, ${r.failures} failed), median read ${median(r.times).toFixed(2)} ms`)
}
console.log(`no line timing: median ${median(fast).toFixed(0)} reads/s over ${runs} runs`)
for (const baud of [9600, 19200]) {
  const expected = lineTimeMs(8 + 9, baud) + frameSilenceMs(baud)
  const medians: number[] = []
  const rates: number[] = []
  for (let i = 0; i < runs; i++) {
    const r = await withLine(baud, true, (path) => poll(path, baud, seconds * 1000))
    medians.push(median(r.times))
    rates.push(r.readsPerS)
    const min = Math.min(...r.times)
    console.log(`line timing ${baud} baud, run ${i + 1}: median read ${median(r.times).toFixed(2)} ms (min ${min.toFixed(2)}), expected ${expected.toFixed(2)} ms, ${r.readsPerS.toFixed(1)} reads/s, ${r.failures} failed`)
  }
  const m = median(medians)
  console.log(`line timing ${baud} baud: median ${m.toFixed(2)} ms vs ${expected.toFixed(2)} ms expected (${(((m - expected) / expected) * 100).toFixed(1)} %), ${median(rates).toFixed(1)} reads/s`)
}
finished = true
