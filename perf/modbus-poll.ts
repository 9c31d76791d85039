/**
 * The Modbus gateway figure of issue #6: 1,000 simulated units polled once a second by the `modbus` pipeline
 * source for 60 s; missed polls must stay under 1 %. The plant runs as `iotd sim` (bin/run.js, its own process, as a
 * user runs it); the source runs in this process, so the CPU and RSS printed for "gateway" are the poller's alone.
 * A benchmark, not a test: run it by hand and copy the table into perf/RESULTS.md with the date and machine.
 *
 *   npm run build && node --import tsx perf/modbus-poll.ts [--duration 60s] [--runs 1]
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseDuration} from '../src/config/units.js'
import {modbusSource, type ModbusSourceStats} from '../src/pipeline/sources/modbus.js'
import {harnessOptions} from './harness-args.js'
import {median, procCpuSeconds, procRssBytes} from './run-figures.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RUN = join(ROOT, 'bin/run.js')
const SCENARIO = join(ROOT, 'perf/scenarios/modbus-1000.yaml')
const FIRST_PORT = 5120

const {duration, runs} = harnessOptions({duration: '60s', runs: 1})
const durationMs = parseDuration(duration)

async function startPlant(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [RUN, 'sim', SCENARIO, '--duration', `${Math.ceil(durationMs / 1000) + 30}s`], {stdio: ['ignore', 'ignore', 'pipe']})
  await new Promise<void>((resolve, reject) => {
    let err = ''
    const fail = (error: Error) => {
      child.kill('SIGKILL')
      reject(error)
    }
    const timer = setTimeout(() => fail(new Error(`the plant did not start: ${err}`)), 30_000)
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString()
      if (err.includes('listening on')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => fail(new Error(`the plant exited with ${code}: ${err}`)))
  })
  return child
}

interface RunFigures {
  polls: number
  expected: number
  missed: number
  failed: number
  records: number
  gatewayCpuPercent: number
  gatewayRssMiB: number
  plantCpuPercent: number
  plantRssMiB: number
  stats: ModbusSourceStats
}

async function once(): Promise<RunFigures> {
  const plant = await startPlant()
  try {
    const options = modbusSource.options.parse({
      poll: '1s',
      timeout: '500ms',
      order: 'CDAB',
      tags: [
        {name: 'voltage', address: 30001, type: 'float32'},
        {name: 'current', address: 30003, type: 'float32'},
        {name: 'energy', address: 30005, type: 'uint32', scale: 0.01},
        {name: 'temperature', address: 30007, type: 'int16', scale: 0.1},
        {name: 'setpoint', address: 40001, type: 'float32'},
        {name: 'running', address: '00001'},
      ],
      devices: [0, 1, 2, 3].map((k) => ({host: '127.0.0.1', port: FIRST_PORT + k, units: '1-250', name: `u-${FIRST_PORT + k}-{unit}`})),
    })
    const source = modbusSource.create(options, 'plant', {baseDir: ROOT, env: process.env}) as ReturnType<typeof modbusSource.create> & {stats(): ModbusSourceStats}
    const abort = new AbortController()
    const cpu0 = process.cpuUsage()
    const plantCpu0 = (procCpuSeconds(plant.pid) ?? Number.NaN)
    const t0 = performance.now()
    let records = 0
    let peakRss = 0
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 1000)
    setTimeout(() => abort.abort(), durationMs)
    for await (const batch of source.readBatches?.({signal: abort.signal, deadLetter: () => {}, warn: () => {}}) ?? []) records += batch.length
    const elapsedS = (performance.now() - t0) / 1000
    clearInterval(sampler)
    const cpu = process.cpuUsage(cpu0)
    const stats = source.stats()
    const plantCpu = (procCpuSeconds(plant.pid) ?? Number.NaN) - plantCpu0
    return {
      polls: stats.polls,
      expected: Math.floor(elapsedS) * 1000,
      missed: stats.missed,
      failed: stats.failed,
      records,
      gatewayCpuPercent: ((cpu.user + cpu.system) / 1e6 / elapsedS) * 100,
      gatewayRssMiB: peakRss / 2 ** 20,
      plantCpuPercent: (plantCpu / elapsedS) * 100,
      plantRssMiB: (procRssBytes(plant.pid) ?? 0) / 2 ** 20,
      stats,
    }
  } finally {
    plant.kill('SIGINT')
    await new Promise((r) => plant.once('exit', r))
  }
}

const results: RunFigures[] = []
for (let i = 0; i < runs; i++) {
  const r = await once()
  results.push(r)
  console.error(`run ${i + 1}: ${JSON.stringify(r)}`)
}
const missedShare = results.map((r) => ((r.missed + r.failed) / Math.max(1, r.polls + r.missed)) * 100)
console.log(`| case | median of ${runs} | runs |`)
console.log('|---|---|---|')
console.log(`| polls answered in ${durationMs / 1000} s (1,000 units × 1/s) | ${median(results.map((r) => r.polls - r.failed))} | ${results.map((r) => r.polls - r.failed).join(', ')} |`)
console.log(`| missed + failed polls | **${median(missedShare).toFixed(3)} %** | ${missedShare.map((x) => x.toFixed(3)).join(', ')} |`)
console.log(`| gateway (source) CPU, % of one core | ${median(results.map((r) => r.gatewayCpuPercent)).toFixed(1)} % | ${results.map((r) => r.gatewayCpuPercent.toFixed(1)).join(', ')} |`)
console.log(`| gateway peak RSS | ${median(results.map((r) => r.gatewayRssMiB)).toFixed(0)} MiB | ${results.map((r) => r.gatewayRssMiB.toFixed(0)).join(', ')} |`)
console.log(`| plant (iotd sim, 1,000 units) CPU | ${median(results.map((r) => r.plantCpuPercent)).toFixed(1)} % | ${results.map((r) => r.plantCpuPercent.toFixed(1)).join(', ')} |`)
console.log(`| plant RSS | ${median(results.map((r) => r.plantRssMiB)).toFixed(0)} MiB | ${results.map((r) => r.plantRssMiB.toFixed(0)).join(', ')} |`)
