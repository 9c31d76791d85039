/**
 * What a character per device and a calendar cost (issue #14, items 3–5 and 7): backfill throughput of one fleet
 * as it was (plain), the same fleet with per-device params in its generators and a mode schedule in a time zone
 * (character), and the shipped modbus-plant with its 204 Modbus devices now in the backfill. Each is backfilled in
 * this process to /dev/null; rows per second and CPU µs per row are medians of --runs runs, the plain and character
 * rows side by side with their ratio.
 *
 *   npm run build && flock /tmp/iotd-perf.lock node --import tsx perf/sim-character.ts [--runs 5] [--hours 2]
 */
import {performance} from 'node:perf_hooks'
import {runBackfill} from '../src/sim/backfill.js'
import {expandDevices, loadScenario, type Scenario} from '../src/sim/scenario/index.js'
import {harnessOptions} from './harness-args.js'
import {median} from './run-figures.js'

const {runs, hours} = harnessOptions({runs: 5, hours: 2})
const FROM = Date.UTC(2026, 0, 5, 6)

const fleet = (character: boolean) => `
version: 1
seed: 3
fleets:
  - name: press
    count: 200
    every: 1s
    topic: "plant/{deviceId}"
${
  character
    ? `    timezone: Europe/Berlin
    params:
      base: {kind: gaussian, mean: 65, stddev: 3, resolution: 0.1}
      bias: {kind: uniform, min: -0.5, max: 0.5, resolution: 0.01}
    mode:
      initial: idle
      schedule:
        - {days: mon-fri, from: "06:00", to: "22:00", mode: running}`
    : `    mode:
      initial: running
      transitions: {running: {idle: 0.001}, idle: {running: 0.01}}`
}
    fields:
      ts: {kind: timestamp}
      status: {kind: mode}
      temperature: {kind: walk, mean: ${character ? '"{params.base}"' : '65'}, theta: 0.05, sigma: 0.4, resolution: 0.1, byMode: {idle: {mean: 35}}}
      vibration: {kind: gaussian, mean: 2.5, stddev: 0.3, min: 0, resolution: 0.01}
      strokes: {kind: counter${character ? ', modes: [running]' : ''}}
    anomalies:
      - {field: temperature, kind: spike, ${character ? 'devices: 20' : 'share: 10%'}, probability: 0.002, duration: 5s, magnitude: 25}
`

async function measure(scenario: Scenario): Promise<{rowsPerS: number; cpuUsPerRow: number; rows: number}> {
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const summary = await runBackfill({scenario, devices: expandDevices(scenario), fromMs: FROM, toMs: FROM + hours * 3_600_000, out: '/dev/null', format: 'csv'})
  const wallS = (performance.now() - t0) / 1000
  const used = process.cpuUsage(cpu)
  return {rowsPerS: summary.rows / wallS, cpuUsPerRow: (used.user + used.system) / summary.rows, rows: summary.rows}
}


const cases: Array<[string, Scenario]> = [
  ['plain (200 devices, Markov modes)', loadScenario('plain.yaml', {text: fleet(false)})],
  ['character (params, schedule, devices:)', loadScenario('character.yaml', {text: fleet(true)})],
  ['modbus-plant (204 Modbus + 10 MQTT)', loadScenario('scenarios/modbus-plant.yaml')],
]
const results: Array<{name: string; rows: number; rowsPerS: number; cpuUsPerRow: number}> = []
for (const [name, scenario] of cases) {
  const figures = []
  for (let r = 0; r < runs; r++) figures.push(await measure(scenario))
  results.push({name, rows: figures[0].rows, rowsPerS: median(figures.map((f) => f.rowsPerS)), cpuUsPerRow: median(figures.map((f) => f.cpuUsPerRow))})
}
console.log(`backfill of ${hours} h, medians of ${runs} runs (load ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')})`)
console.log('| case | rows | rows/s | CPU µs/row |')
console.log('|---|---:|---:|---:|')
for (const r of results) console.log(`| ${r.name} | ${r.rows.toLocaleString('en-US')} | ${Math.round(r.rowsPerS).toLocaleString('en-US')} | ${r.cpuUsPerRow.toFixed(2)} |`)
console.log(`character / plain CPU per row: ${(results[1].cpuUsPerRow / results[0].cpuUsPerRow).toFixed(3)}`)
