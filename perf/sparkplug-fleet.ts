/**
 * The Sparkplug B scale figure of issue #17: 1,000 devices under 50 edge nodes publish DDATA at 1 Hz for 60 s into a
 * private mosquitto while `iotd tail 'spBv1.0/#' --stats` reads everything as a host would. Reported per run: DDATA
 * received, the host checks (seq gaps must be 0), and the simulator's CPU and peak RSS (from /proc, sampled every
 * second). Both iotd processes run as a user runs them (bin/run.js).
 *
 *   npm run build && flock /tmp/iotd-perf.lock node --import tsx perf/sparkplug-fleet.ts [--duration 60s] [--runs 3]
 */
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseDuration} from '../src/config/units.js'
import {withMosquitto} from '../test/helpers/mosquitto-process.js'
import {harnessOptions} from './harness-args.js'
import {median, procCpuSeconds, procRssBytes} from './run-figures.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RUN = join(ROOT, 'bin/run.js')
const SCENARIO = join(ROOT, 'perf/scenarios/sparkplug-1000.yaml')
const {duration, runs} = harnessOptions({duration: '60s', runs: 3})
const durationMs = parseDuration(duration)

const num = (text: string, re: RegExp) => Number((re.exec(text)?.[1] ?? 'NaN').replace(/,/g, ''))

interface Run {
  ddata: number
  messages: number
  seqGaps: number
  dataBeforeBirth: number
  cpuPercent: number
  peakRssMiB: number
}

function once(): Promise<Run> {
  return withMosquitto({extraConfig: ['set_tcp_nodelay true']}, async (broker) => {
    const tail = spawn(process.execPath, [RUN, 'tail', 'spBv1.0/#', '--broker', broker.url, '--stats', '--duration', `${Math.ceil(durationMs / 1000) + 15}s`], {stdio: ['ignore', 'pipe', 'pipe']})
    let tailOut = ''
    let tailErr = ''
    tail.stdout.on('data', (d: Buffer) => (tailOut += d.toString()))
    tail.stderr.on('data', (d: Buffer) => (tailErr += d.toString()))
    while (!tailErr.includes('subscribed')) await new Promise((r) => setTimeout(r, 50))
    const sim = spawn(process.execPath, [RUN, 'sim', SCENARIO, '--broker', broker.url, '--duration', `${durationMs / 1000}s`], {stdio: ['ignore', 'pipe', 'pipe']})
    let simOut = ''
    sim.stdout.on('data', (d: Buffer) => (simOut += d.toString()))
    let peakRss = 0
    let cpu = 0
    // Once the process has ended, nothing more is read: the last figures stand.
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, procRssBytes(sim.pid) ?? 0)
      cpu = procCpuSeconds(sim.pid) ?? cpu
    }, 1000)
    const started = performance.now()
    await new Promise((r) => sim.on('close', r))
    const elapsedS = (performance.now() - started) / 1000
    clearInterval(sampler)
    tail.kill('SIGINT')
    await new Promise((r) => tail.on('close', r))
    const line = /sparkplug\s+.*$/m.exec(tailOut)?.[0] ?? ''
    if (!line) throw new Error(`tail printed no sparkplug line:\n${tailOut}\n${tailErr}\n${simOut}`)
    const ddata = [...tailOut.matchAll(/^spBv1\.0\/perf\/DDATA\/\S+\s+([\d,]+)/gm)].reduce((a, m) => a + Number(m[1].replace(/,/g, '')), 0)
    return {
      ddata,
      messages: num(line, /sparkplug\s+([\d,]+) messages/),
      seqGaps: num(line, /seq gaps ([\d,]+)/),
      dataBeforeBirth: num(line, /data before birth ([\d,]+)/),
      cpuPercent: (cpu / elapsedS) * 100,
      peakRssMiB: peakRss / 2 ** 20,
    }
  })
}

const results: Run[] = []
for (let i = 0; i < runs; i++) {
  const r = await once()
  results.push(r)
  console.log(`run ${i + 1}: ${JSON.stringify({...r, cpuPercent: Number(r.cpuPercent.toFixed(1)), peakRssMiB: Number(r.peakRssMiB.toFixed(1))})}`)
}
const keys = Object.keys(results[0]) as Array<keyof Run>
console.log(`median of ${runs}: ${keys.map((k) => `${k} ${Number(median(results.map((r) => r[k])).toFixed(1))}`).join(', ')}`)
