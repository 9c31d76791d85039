/**
 * The `iotd sim` scale harness: runs the built CLI (bin/run.js) against a private mosquitto, as a user would,
 * and prints the figures issue #2 asks for. A benchmark, not a test: run it by hand and copy the table into
 * perf/RESULTS.md with the date and machine.
 *
 *   npm run build && node --import tsx perf/sim-scale.ts [connect-5k] [idle-memory] [steady-10k] [source-18k] [over-limit] [help] [--runs 3]
 *
 * Side by side with MQTTX CLI's `simulate` (cases peer-connect-5k, peer-idle-memory): set MQTTX_BIN to the
 * bin/index.js of an MQTTX CLI you built yourself; this harness only runs it.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {startMosquitto, type Mosquitto} from '../test/helpers/mosquitto-process.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RUN = join(ROOT, 'bin/run.js')
const work = mkdtempSync(join(tmpdir(), 'iotd-perf-'))

interface SimJson {
  devices: number
  elapsedMs: number
  connectAllMs?: number
  totals: {published: number; dropped: number; suppressed: number; late: number; connected: number; errors: number}
  publishLag: {p50: number; p99: number; max: number; count: number}
  connectLatency: {p50: number; p99: number; max: number}
  health: {rssBytes: number; peakRssBytes: number; cpuPercent: number; eventLoopLagP99Ms: number}
}

function scenario(name: string, count: number, every: string, connect: string, fields = 'v: 1'): string {
  const file = join(work, `${name}.yaml`)
  writeFileSync(
    file,
    `version: 1
name: ${name}
seed: 1
connect: {${connect}}
fleets:
  - name: dev
    count: ${count}
    topic: "perf/${name}/{deviceId}"
    every: ${every}
    jitter: 2%
    fields:
      ${fields}
`,
  )
  return file
}

function runSim(args: string[]): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN, 'sim', ...args], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('close', (code) => resolve({code, stdout, stderr}))
  })
}

async function simJson(args: string[]): Promise<SimJson> {
  const r = await runSim([...args, '--json'])
  if (r.code !== 0) throw new Error(`iotd sim ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`)
  return JSON.parse(r.stdout) as SimJson
}

/** Starts MQTTX CLI's simulate (idle: one message an hour) and resolves once it says every connection was created. */
function startMqttx(broker: Mosquitto, count: number): Promise<{pid: number; seconds: number; stop: () => void}> {
  const bin = process.env.MQTTX_BIN
  if (!bin) throw new Error('set MQTTX_BIN to the bin/index.js of an MQTTX CLI build')
  const args = ['simulate', '-sc', 'tesla', '-c', String(count), '-i', '0', '-im', '3600000', '-h', broker.host, '-p', String(broker.port), '-V', '3.1.1']
  const child = spawn(process.execPath, [bin, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`mqttx did not connect ${count} clients in 120 s: ${out.slice(-500)}`)), 120_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /Created \d+ connections in ([\d.]+)s/.exec(out)
      if (m && child.pid) {
        clearTimeout(timer)
        const pid = child.pid
        resolve({pid, seconds: Number(m[1]), stop: () => process.kill(pid, 'SIGKILL')})
      }
    })
    child.on('error', reject)
  })
}

function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kb) * 1024
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const mib = (b: number) => (b / 1024 / 1024).toFixed(1)

async function withBroker<T>(fn: (m: Mosquitto) => Promise<T>): Promise<T> {
  const m = await startMosquitto({maxConnections: -1})
  try {
    return await fn(m)
  } finally {
    await m.stop()
  }
}

const cases: Record<string, (runs: number) => Promise<void>> = {
  /** 5,000 devices, connect as fast as allowed; time from the run's start until every device had its CONNACK. */
  async 'connect-5k'(runs) {
    const file = scenario('connect5k', 5000, '1h', 'rate: 100000/s')
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const s = await withBroker((m) => simJson([file, '--broker', m.url, '--duration', '6s']))
      if (s.connectAllMs === undefined) throw new Error(`not every device connected: ${s.totals.connected}/${s.devices}`)
      times.push(s.connectAllMs)
      console.log(`connect-5k run ${i + 1}: all 5,000 connected in ${(s.connectAllMs / 1000).toFixed(2)} s (connect p99 ${s.connectLatency.p99.toFixed(1)} ms)`)
    }
    console.log(`connect-5k median: ${(median(times) / 1000).toFixed(2)} s over ${runs} runs`)
  },

  /** RSS per connected idle device: 10,000 idle devices against 10 idle devices, at the end of a 15 s hold. */
  async 'idle-memory'(runs) {
    const small = scenario('idle10', 10, '1h', 'rate: 100000/s')
    const big = scenario('idle10k', 10000, '1h', 'rate: 100000/s')
    const perDevice: number[] = []
    for (let i = 0; i < runs; i++) {
      const base = await withBroker((m) => simJson([small, '--broker', m.url, '--duration', '15s']))
      const full = await withBroker((m) => simJson([big, '--broker', m.url, '--duration', '15s']))
      if (full.totals.connected !== 10000) throw new Error(`only ${full.totals.connected} of 10,000 connected`)
      const kb = (full.health.rssBytes - base.health.rssBytes) / (10000 - 10) / 1024
      perDevice.push(kb)
      console.log(`idle-memory run ${i + 1}: rss ${mib(base.health.rssBytes)} MiB at 10 devices, ${mib(full.health.rssBytes)} MiB at 10,000 -> ${kb.toFixed(1)} KB per device`)
    }
    console.log(`idle-memory median: ${median(perDevice).toFixed(1)} KB per connected idle device over ${runs} runs`)
  },

  /** 10,000 devices at 1 msg/s for 60 s: broker-counted delivery against the schedule, and publish lag. */
  async 'steady-10k'(runs) {
    const file = scenario('steady10k', 10000, '1s', 'rate: 20000/s', `ts: {kind: timestamp, format: epoch-ms}
      temp: {kind: walk, mean: 21, theta: 0.05, sigma: 0.2, min: -10, max: 50, resolution: 0.1}`)
    const ratios: number[] = []
    const p99s: number[] = []
    for (let i = 0; i < runs; i++) {
      await withBroker(async (m) => {
        const before = Number(await m.readSys('broker/publish/messages/received'))
        const s = await simJson([file, '--broker', m.url, '--duration', '61s'])
        await new Promise((r) => setTimeout(r, 2500)) // $SYS is published every second
        const after = Number(await m.readSys('broker/publish/messages/received'))
        const brokerCount = after - before
        const scheduled = s.totals.published + s.totals.dropped + s.totals.suppressed
        const ratio = brokerCount / scheduled
        ratios.push(ratio)
        p99s.push(s.publishLag.p99)
        console.log(
          `steady-10k run ${i + 1}: scheduled ${scheduled}, client published ${s.totals.published}, broker received ${brokerCount} ` +
            `(${(ratio * 100).toFixed(2)}% of scheduled), ${(brokerCount / 60).toFixed(0)} msg/s over 60 s, late ${s.totals.late}, ` +
            `lag p50 ${s.publishLag.p50.toFixed(2)} ms p99 ${s.publishLag.p99.toFixed(2)} ms max ${s.publishLag.max.toFixed(1)} ms, ` +
            `cpu ${s.health.cpuPercent.toFixed(0)}%, rss ${mib(s.health.rssBytes)} MiB, loop p99 ${s.health.eventLoopLagP99Ms.toFixed(1)} ms`,
        )
      })
    }
    console.log(`steady-10k median: delivered ${(median(ratios) * 100).toFixed(2)}% of scheduled, publish lag p99 ${median(p99s).toFixed(2)} ms over ${runs} runs`)
  },

  /** 18,000 idle devices from one process to one mosquitto, spread over two loopback source addresses. */
  async 'source-18k'(runs) {
    const file = scenario('src18k', 18000, '1h', 'rate: 100000/s')
    for (let i = 0; i < runs; i++) {
      await withBroker(async (m) => {
        const s = await simJson([file, '--broker', m.url, '--duration', '20s', '--source-ip', '127.0.0.2,127.0.0.3'])
        console.log(
          `source-18k run ${i + 1}: ${s.totals.connected} of ${s.devices} connected at the end, all connected in ` +
            `${s.connectAllMs === undefined ? 'never' : `${(s.connectAllMs / 1000).toFixed(2)} s`}, errors ${s.totals.errors}, rss ${mib(s.health.rssBytes)} MiB`,
        )
      })
    }
  },

  /** MQTTX CLI simulate, 5,000 clients with its connect interval at 0 (its fastest), against the same broker setup. */
  async 'peer-connect-5k'(runs) {
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const seconds = await withBroker(async (m) => {
        const peer = await startMqttx(m, 5000)
        peer.stop()
        return peer.seconds
      })
      times.push(seconds)
      console.log(`peer-connect-5k run ${i + 1}: MQTTX CLI created 5,000 connections in ${seconds.toFixed(2)} s (its own timer, start-up excluded)`)
    }
    console.log(`peer-connect-5k median: ${median(times).toFixed(2)} s over ${runs} runs`)
  },

  /** MQTTX CLI simulate: RSS per connected idle client, 10,000 against 10, after a 15 s hold (same method as idle-memory). */
  async 'peer-idle-memory'(runs) {
    const perDevice: number[] = []
    const hold = async (count: number) =>
      withBroker(async (m) => {
        const peer = await startMqttx(m, count)
        await new Promise((r) => setTimeout(r, 15_000))
        const rss = rssOf(peer.pid)
        peer.stop()
        return rss
      })
    for (let i = 0; i < runs; i++) {
      const base = await hold(10)
      const full = await hold(10000)
      const kb = (full - base) / (10000 - 10) / 1024
      perDevice.push(kb)
      console.log(`peer-idle-memory run ${i + 1}: MQTTX rss ${mib(base)} MiB at 10 clients, ${mib(full)} MiB at 10,000 -> ${kb.toFixed(1)} KB per client (${(full / 10000 / 1024).toFixed(1)} KB whole-process)`)
    }
    console.log(`peer-idle-memory median: ${median(perDevice).toFixed(1)} KB per connected idle client over ${runs} runs`)
  },

  /** A fleet larger than this machine allows: the message before anything connects. */
  async 'over-limit'() {
    const file = scenario('over', 30000, '1h', 'rate: 100000/s')
    const started = Date.now()
    const r = await runSim([file, '--broker', 'mqtt://127.0.0.1:1', '--duration', '5s'])
    console.log(`over-limit: exit ${r.code} after ${Date.now() - started} ms\n${r.stderr.trim()}`)
  },

  /** `iotd --help` wall time (the manifest and lazy imports keep it short). */
  async help(runs) {
    const times: number[] = []
    for (let i = 0; i < Math.max(runs, 10); i++) {
      const t = performance.now()
      await new Promise<void>((resolve) => spawn(process.execPath, [RUN, '--help'], {stdio: 'ignore'}).on('close', () => resolve()))
      times.push(performance.now() - t)
    }
    console.log(`help: iotd --help median ${median(times).toFixed(0)} ms over ${times.length} runs (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})`)
  },
}

const argv = process.argv.slice(2)
const runsAt = argv.indexOf('--runs')
const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 3
const chosen = argv.filter((a, i) => !a.startsWith('--') && (runsAt < 0 || i !== runsAt + 1))
console.log(`# iotd sim scale — ${new Date().toISOString()} — node ${process.version}, ${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown cpu'}`)
for (const name of chosen.length > 0 ? chosen : Object.keys(cases).filter((c) => !c.startsWith('peer-'))) {
  const fn = cases[name]
  if (!fn) throw new Error(`unknown case ${name}; cases: ${Object.keys(cases).join(', ')}`)
  await fn(runs)
}
